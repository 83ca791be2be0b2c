package gateway_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// A gateway alone against a store shared with the API process: changes made
// there arrive by polling; with a Service in the same process, at once.
func Example() {
	var store subgate.Store // sqlite.Open(...) or postgres.Open(...)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	gw, err := gateway.New(gateway.Config{
		ProxyAddr:  gateway.DefaultProxyAddr, // SUBGATE_PROXY_ADDR / --proxy-addr
		Store:      store,
		Registerer: prometheus.DefaultRegisterer,
	})
	if err != nil {
		log.Fatal(err)
	}
	// Run serves until ctx ends, then shuts down gracefully: usage flushed,
	// leases released.
	if err := gw.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
