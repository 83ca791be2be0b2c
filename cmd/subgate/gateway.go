package main

import (
	"context"
	"fmt"
)

const gatewayUsage = `Usage: subgate gateway [flags]

Runs only the proxy gateway (no API), against the same database as a
"subgate serve" elsewhere: use PostgreSQL to run several gateway nodes on one
state. Takes the same settings as serve; the API settings are ignored and
/metrics and /healthz are served on --metrics-addr when given.`

// gatewayOnly runs the proxy gateway alone.
func (a *app) gatewayOnly(ctx context.Context, args []string) error {
	cfg, logger, svc, closeStore, err := a.setUp(ctx, "gateway", gatewayUsage, args)
	if err != nil {
		return err
	}
	defer closeStore()
	registry := newRegistry()
	px, err := newProxy(ctx, cfg, svc, registry, logger)
	if err != nil {
		return err
	}
	if px == nil {
		return fmt.Errorf("no proxy listener: set --proxy-addr, --http-proxy-addr or --socks-addr")
	}
	return runComponents(ctx, append(metricsComponents(cfg, registry, logger), px.components()...))
}
