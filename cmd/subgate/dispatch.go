package main

import (
	"context"
	"fmt"
)

// subcommands maps the names of a command's subcommands to what runs them.
type subcommands map[string]func(ctx context.Context, args []string) error

// dispatch runs the subcommand args[0] names with the rest of args. Without
// one it prints usage and fails; help prints usage; an unknown name fails,
// called what (e.g. "subuser command") in the message.
func (a *app) dispatch(ctx context.Context, args []string, what, usage string, cmds subcommands) error {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return errUsage
	}
	if cmd, ok := cmds[args[0]]; ok {
		return cmd(ctx, args[1:])
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(a.stdout, usage)
		return nil
	}
	fmt.Fprintf(a.stderr, "unknown %s %q\n\n%s", what, args[0], usage)
	return errUsage
}
