package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/api"
	"github.com/subgate/subgate/dialect/iproyal"
	"github.com/subgate/subgate/dialect/netnut"
	"github.com/subgate/subgate/dialect/ninep"
	"github.com/subgate/subgate/gateway"
	"github.com/subgate/subgate/route"
)

// newRegistry is the Prometheus registry every component reports to.
func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// proxy is the gateway with the router it dials through and the follower
// keeping that router on the stored routing configuration.
type proxy struct {
	gateway *gateway.Gateway
	routes  *route.Follower
}

// components runs the gateway and the follower.
func (p *proxy) components() []component {
	return []component{gatewayComponent{p.gateway}, p.routes}
}

// newProxy builds the proxy gateway and its routing, or returns nil when no
// proxy listener is configured. The stored routing configuration, when
// there is one, is in force before the gateway starts.
func newProxy(ctx context.Context, cfg config, svc *subgate.Service, reg prometheus.Registerer, logger *slog.Logger) (*proxy, error) {
	if cfg.ProxyAddr == "" && cfg.HTTPProxyAddr == "" && cfg.SOCKSAddr == "" {
		logger.Info("no proxy listener configured; the gateway is off")
		return nil, nil
	}
	rc, source, err := routeConfig(cfg.Routes)
	if err != nil {
		return nil, err
	}
	var statics *route.StoreStaticIPs
	if ips, ok := svc.Store.(subgate.StaticIPStore); ok {
		statics = route.NewStoreStaticIPs(ips, 0)
		svc.OnSubUserChange(statics.Forget)
	}
	opts := route.Options{Registerer: reg, Logger: logger}
	if statics != nil {
		opts.StaticIPs = statics
	}
	router, err := route.New(rc, opts)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	stored, ok := svc.Store.(subgate.RoutesStore)
	if !ok {
		return nil, fmt.Errorf("routes: the store cannot keep a routing configuration")
	}
	follower, err := route.NewFollower(ctx, router, stored, route.FollowOptions{
		Fallback: rc, FallbackSource: source, Registerer: reg, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("stored routes: %w", err)
	}
	gw, err := gateway.New(gateway.Config{
		ProxyAddr: cfg.ProxyAddr, HTTPAddr: cfg.HTTPProxyAddr, SOCKSAddr: cfg.SOCKSAddr,
		Store: svc.Store, Service: svc, Dialer: router, Windows: svc.Windows,
		DefaultProduct: follower.Config().DefaultProduct, Node: cfg.Node, CredCacheSize: int(cfg.CredCacheSize),
		Changes: changeFeed(svc.Store), Registerer: reg, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return &proxy{gateway: gw, routes: follower}, nil
}

// changeFeed is the store's feed of other nodes' changes when it has one
// (PostgreSQL); without it the gateway polls.
func changeFeed(st subgate.Store) gateway.ChangeFeed {
	f, _ := st.(gateway.ChangeFeed)
	return f
}

// routeConfig loads the route file, or routes every product directly (to
// public targets only: allow_private_targets needs a route file). Either is
// in force while no configuration is stored.
func routeConfig(path string) (route.Config, subgate.RouteSource, error) {
	if path != "" {
		c, err := route.Load(path)
		if err != nil {
			return c, "", fmt.Errorf("routes: %w", err)
		}
		return c, subgate.RouteSourceFile, nil
	}
	c := route.Config{Routes: map[subgate.Product]route.Route{}}
	for _, p := range subgate.Products {
		if p != subgate.ProductAny {
			c.Routes[p] = route.Route{Kind: route.KindDirect}
		}
	}
	return c, subgate.RouteSourceDefault, nil
}

// dialectComponents mounts the provider dialects under their prefixes on
// the API server and returns listeners for those given a port of their own,
// where the provider's paths match exactly.
func dialectComponents(cfg config, srv *api.Server, svc *subgate.Service, storeTimeout time.Duration, logger *slog.Logger) []component {
	var cs []component
	for _, d := range []struct {
		name, prefix, addr string
		handler            http.Handler
	}{
		{"netnut", cfg.NetNutPrefix, cfg.NetNutAddr, netnut.New(svc, logger)},
		{"iproyal", cfg.IPRoyalPrefix, cfg.IPRoyalAddr, iproyal.New(svc, logger)},
		{"9proxy", cfg.NinePrefix, cfg.NineAddr, ninep.New(svc, logger)},
	} {
		if d.prefix != "" {
			srv.Mount(d.prefix, d.handler)
		}
		if d.addr != "" {
			cs = append(cs, &httpComponent{name: d.name, addr: d.addr, handler: api.StoreDeadline(d.handler, storeTimeout), logger: logger})
		}
	}
	return cs
}

// withMetrics serves /metrics beside the API.
func withMetrics(h http.Handler, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", h)
	return mux
}

// metricsComponents returns the dedicated metrics listener, if configured.
func metricsComponents(cfg config, reg *prometheus.Registry, logger *slog.Logger) []component {
	if cfg.MetricsAddr == "" {
		return nil
	}
	return []component{&httpComponent{name: "metrics", addr: cfg.MetricsAddr, handler: withMetrics(liveness(), reg), logger: logger}}
}

// liveness answers GET /healthz on the metrics listener: a gateway node has
// no API port, and an orchestrator needs a probe there too. It asks nothing
// of the database, as the API's does not: through an outage a gateway
// still serves the sub-users it holds, so it is neither restarted nor
// taken out for it.
func liveness() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{\"status\":\"ok\"}\n") //nolint:errcheck // a probe that goes away needs no answer
	})
	return mux
}

// gatewayComponent runs the gateway; a stop that comes while it is still
// loading credentials is a clean stop, not a failure.
type gatewayComponent struct{ *gateway.Gateway }

func (g gatewayComponent) Run(ctx context.Context) error {
	err := g.Gateway.Run(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
