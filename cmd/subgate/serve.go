package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/api"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
)

const serveUsage = `Usage: subgate serve [flags]

Runs subgate: the management API with the NetNut, IPRoyal and 9Proxy
dialects and the web dashboard (/dashboard), and the proxy gateway (HTTP,
CONNECT and SOCKS5 on --proxy-addr).
Settings come from flags, then environment variables, then the --config
file (JSON or YAML with the keys db, db_pool_size, db_session_url,
api_addr, admin_token, secret_key,
secret_key_file, timezone, log_level, proxy_addr, http_proxy_addr,
socks_addr, metrics_addr, routes, node, cred_cache_size, public_proxy,
netnut_prefix, iproyal_prefix, 9proxy_prefix, netnut_addr, iproyal_addr,
9proxy_addr, dashboard, store_timeout), then defaults.

Every API, dialect and dashboard request, its database work included, is
bounded by --store-timeout (default 5s): past it the answer is 503 with
Retry-After.
GET /healthz (alive) and GET /readyz (database reachable and migrated)
serve load balancers on the API port.

On a fresh database without SUBGATE_ADMIN_TOKEN an admin token is generated
and printed once. Stop with Ctrl-C or SIGTERM; requests in flight finish.`

// component is a long-running part of the server (an HTTP listener, the
// proxy gateway). Run returns when ctx is done.
type component interface {
	Run(ctx context.Context) error
}

func (a *app) serve(ctx context.Context, args []string) error {
	cfg, logger, svc, closeStore, err := a.setUp(ctx, "serve", serveUsage, args)
	if err != nil {
		return err
	}
	defer closeStore()

	storeTimeout, err := cfg.storeTimeout()
	if err != nil {
		return err
	}
	registry := newRegistry()
	px, err := newProxy(ctx, cfg, svc, registry, logger)
	if err != nil {
		return err
	}
	apiServer := api.NewServer(svc, logger)
	if px != nil {
		apiServer.SetRoutes(px.routes)
	}
	components := dialectComponents(cfg, apiServer, svc, storeTimeout, logger)
	apiHandler, err := withDashboard(cfg, apiServer, svc, logger)
	if err != nil {
		return err
	}
	apiHandler = api.StoreDeadline(apiHandler, storeTimeout)
	if cfg.MetricsAddr == "" {
		apiHandler = withMetrics(apiHandler, registry)
	}
	components = append(components,
		&httpComponent{name: "api", addr: cfg.APIAddr, handler: apiHandler, logger: logger, onListen: a.onListen})
	components = append(components, metricsComponents(cfg, registry, logger)...)
	if px != nil {
		components = append(components, px.components()...)
	}
	return runComponents(ctx, components)
}

// setUp parses a server command's flags, loads the settings and opens the
// service; closeStore must be called when the command ends.
func (a *app) setUp(ctx context.Context, name, usage string, args []string) (cfg config, logger *slog.Logger, svc *subgate.Service, closeStore func(), err error) {
	fs := newFlagSet(name, usage, a.stderr)
	cf := bindConfigFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return cfg, nil, nil, nil, err
	}
	if err := wantArgs(fs, pos, 0, "no arguments"); err != nil {
		return cfg, nil, nil, nil, err
	}
	if cfg, err = a.loadConfig(cf); err != nil {
		return cfg, nil, nil, nil, err
	}
	if logger, err = newLogger(a, cfg.LogLevel); err != nil {
		return cfg, nil, nil, nil, err
	}
	svc, closeStore, err = a.openService(ctx, cfg, logger)
	return cfg, logger, svc, closeStore, err
}

// openService opens the store named by the config and wires the service.
func (a *app) openService(ctx context.Context, cfg config, logger *slog.Logger) (*subgate.Service, func(), error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, nil, fmt.Errorf("timezone %q: %w", cfg.Timezone, err)
	}
	public, err := cfg.publicGateway()
	if err != nil {
		return nil, nil, err
	}
	if _, err := cfg.storeTimeout(); err != nil { // before the store opens, as every setting
		return nil, nil, err
	}
	keyFile, err := keyFileFor(cfg)
	if err != nil {
		return nil, nil, err
	}
	key, created, err := secret.LoadKey(cfg.SecretKey, keyFile)
	if err != nil {
		return nil, nil, err
	}
	if created {
		logger.Warn("created a new secret key file; back it up with the database", "file", keyFile)
	}
	cipher, err := secret.New(key)
	if err != nil {
		return nil, nil, err
	}
	var store subgate.Store
	if isPostgres(cfg.DB) {
		store, err = postgres.OpenWith(ctx, cfg.DB, cipher, postgres.Options{PoolSize: int(cfg.DBPoolSize), SessionURL: cfg.DBSessionURL})
	} else {
		store, err = sqlite.Open(cfg.DB, cipher)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := verifyKey(ctx, store, cipher); err != nil {
		store.Close()
		if created {
			os.Remove(keyFile) // the wrong key must not stay in the lost one's place
		}
		return nil, nil, err
	}
	svc := subgate.NewService(store)
	svc.Windows = subgate.Windows{Location: loc}
	svc.PublicGateway = public
	token, err := svc.EnsureAdminToken(ctx, cfg.AdminToken)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	if token != "" {
		fmt.Fprintf(a.stdout, "Admin token (shown only this once, keep it):\n\n    %s\n\n", token)
	}
	logger.Info("database ready", "db", redactURL(cfg.DB), "timezone", loc.String())
	return svc, func() { store.Close() }, nil
}

// runComponents runs every component until ctx ends or one fails, then
// stops the others and waits for them.
func runComponents(ctx context.Context, cs []component) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() { errs <- c.Run(ctx) }()
	}
	var first error
	for range cs {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// httpComponent serves a handler until ctx ends, then shuts down gracefully.
type httpComponent struct {
	name     string
	addr     string
	handler  http.Handler
	logger   *slog.Logger
	onListen func(net.Addr)
}

// shutdownGrace bounds how long requests in flight may take at shutdown.
const shutdownGrace = 10 * time.Second

func (h *httpComponent) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", h.name, err)
	}
	srv := &http.Server{
		Handler:           h.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(h.logger.Handler(), slog.LevelWarn),
	}
	h.logger.Info("listening", "component", h.name, "addr", ln.Addr().String())
	if h.onListen != nil {
		h.onListen(ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("%s: %w", h.name, err)
	case <-ctx.Done():
	}
	h.logger.Info("shutting down", "component", h.name)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("%s shutdown: %w", h.name, err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newLogger(a *app, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: l})), nil
}

// redactURL hides a password in a database URL for logs.
func redactURL(db string) string {
	u, err := url.Parse(db)
	if err != nil || !isPostgres(db) {
		return db
	}
	return u.Redacted()
}
