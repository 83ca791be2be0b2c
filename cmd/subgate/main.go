// Command subgate runs the sub-user platform (subgate serve) and manages it
// through the native API (subgate subuser …, subgate reseller …).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // limit windows in any time zone, even without system zoneinfo
)

// app carries what every command needs; tests build one with their own
// streams and environment.
type app struct {
	stdin          io.Reader // read by commands given "-" for a file
	stdout, stderr io.Writer
	getenv         func(string) string
	// lookupEnv, when set, tells an empty variable from an unset one.
	lookupEnv func(string) (string, bool)
	// onListen, when set, is told the API's address once it listens.
	onListen func(net.Addr)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv}
	os.Exit(a.main(ctx, os.Args[1:]))
}

// lookup reads an environment variable, telling empty from unset when it can.
func (a *app) lookup(name string) (string, bool) {
	if a.lookupEnv != nil {
		return a.lookupEnv(name)
	}
	v := a.getenv(name)
	return v, v != ""
}

// main runs a command line and returns the exit status.
func (a *app) main(ctx context.Context, args []string) int {
	err := a.run(ctx, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(a.stderr, "error:", err)
	return 1
}

// errUsage marks a usage error whose explanation was already printed.
var errUsage = errors.New("usage error")

const mainUsage = `subgate — self-hosted proxy sub-user platform

Usage:
  subgate serve [flags]            run the API, the provider dialects and the proxy gateway
  subgate gateway [flags]          run only the proxy gateway against a shared database
  subgate subuser <command> …      manage sub-users through the API
  subgate reseller <command> …     manage resellers through the API (admin token)
  subgate ledger [flags]           list the movements of traffic, newest first
  subgate usage [flags]            traffic used by all sub-users per hour or day
  subgate staticip <command> …     manage the static IP inventory (admin token)
  subgate routes <command> …       show, store or reset the routing (admin token)
  subgate version                  print the version

Run "subgate <command> --help" for the flags of a command.
`

func (a *app) run(ctx context.Context, args []string) error {
	version := func(_ context.Context, args []string) error { return a.version(args) }
	return a.dispatch(ctx, args, "command", mainUsage, subcommands{
		"serve": a.serve, "gateway": a.gatewayOnly,
		"subuser": a.subuser, "subusers": a.subuser,
		"reseller": a.reseller, "resellers": a.reseller,
		"ledger": a.ledger, "usage": a.usage,
		"staticip": a.staticIP, "staticips": a.staticIP,
		"routes": a.routes, "route": a.routes,
		"version": version, "--version": version, "-version": version,
	})
}
