// Package gateway is the proxy edge of subgate: an HTTP forward proxy, HTTPS
// via CONNECT and SOCKS5, authenticating sub-users from an in-memory
// credential cache, metering every byte inline against store leases and
// cutting live connections the moment a sub-user may no longer consume.
//
// Metering: every copy step reserves bytes from an in-memory budget that a
// store lease backs (Store.AcquireLease), copies at most that, then settles.
// Nothing is copied that the store did not lease to this node, so a sub-user
// gets at most its budget however many connections or nodes serve it. An
// exhausted, disabled, blocked, deleted or expired sub-user, or one whose
// password changed, loses its live connections within a second.
//
// Durability: settled usage is flushed to the store every FlushInterval
// (500 ms by default) and a copy step settles within 100 ms, so usage is
// visible within about 0.6 s. A failed flush is resent with the same batch
// ID. A graceful Shutdown flushes everything and releases leases; after
// kill -9 the usage of at most the last flush interval (plus the copy steps
// in flight) is lost, never counted twice, and the node's unused leases
// return to their sub-users when they expire (LeaseTTL).
//
// Several nodes: budgets are shared through leases and changes arrive from
// a change feed (Config.Changes) or by polling the store's change sequence
// (PollInterval). max_concurrency is enforced across nodes through
// connection slots held in the store (see slots.go); for ip_usage_cap the
// store decides on every egress key a node has not seen that day. Nodes
// together keep to both caps; max_concurrency only for as long as nodes
// can renew their slots (a database outage beyond LeaseTTL loosens it).
//
// Outages: a store request a connection waits on is bounded by StoreTimeout;
// one that fails or times out refuses the connection with "unavailable"
// (503), never with an exhausted budget, which the store did not say. Open
// connections run on the lease the node holds until it is spent or expires
// (LeaseTTL after the last successful flush or grant), then are cut with
// "unavailable"; usage waits in the flusher's queue until the store answers.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/subgate/subgate"
)

// DefaultProxyAddr is the address of the combined HTTP/SOCKS5 listener.
const DefaultProxyAddr = ":3128"

// Config configures a Gateway. Store is required; everything else has a default.
type Config struct {
	// ProxyAddr serves HTTP and SOCKS5 on one port, told apart by the first
	// byte; "" disables it. HTTPAddr and SOCKSAddr add dedicated listeners.
	// At least one must be set (a process with none runs no gateway).
	ProxyAddr string
	HTTPAddr  string
	SOCKSAddr string

	Store subgate.Store
	// Service, when set, tells the gateway about changes made in this process
	// at once; changes from other processes arrive through Changes or by
	// polling the store.
	Service *subgate.Service
	// Dialer opens outbound connections. The default dials directly but
	// refuses targets that are not public addresses (loopback, private and
	// link-local networks) unless AllowPrivateTargets is set; a Dialer given
	// here applies its own policy.
	Dialer              subgate.Dialer
	AllowPrivateTargets bool
	// Windows are the limit windows; they must be the Service's.
	Windows subgate.Windows
	// DefaultProduct is charged when a connection names no product; the
	// balance "*" backs every product. It is fixed when the gateway starts
	// (a router reloaded with another default does not change it), and every
	// DialRequest names the product charged in Target.Product, so routing
	// follows billing.
	DefaultProduct subgate.Product
	// Node names this gateway in the store's leases (default: the host
	// name). A ULID is appended per process: a restarted process must not
	// renew leases it knows nothing about; those expire instead (LeaseTTL).
	Node string

	Registerer prometheus.Registerer // default: none
	Logger     *slog.Logger          // default: slog.Default()

	// Changes, when set, announces changes committed by other nodes as they
	// commit: the credential cache follows it and polls only as a safety
	// net (ChangePollInterval), or every PollInterval while the feed is
	// broken or has not delivered since it (re)connected.
	Changes ChangeFeed

	// CredCacheSize is how many sub-users the credential cache holds
	// (default DefaultCredCacheSize); others are loaded from the store on
	// demand. Sub-users with live connections are held beyond it.
	CredCacheSize int

	PollInterval       time.Duration // credential refresh, default 250 ms
	ChangePollInterval time.Duration // refresh while Changes delivers, default 5 s
	FlushInterval      time.Duration // usage flush, default 500 ms
	LeaseTTL           time.Duration // default 60 s
	DialTimeout        time.Duration // default 10 s
	// StoreTimeout bounds every store request a connection waits on (a
	// lease, a connection slot, an egress admission, a sub-user the
	// credential cache does not hold), default 1.5 s: when
	// the store does not answer in time the connection is refused with
	// 503 "unavailable" (SOCKS5: general failure) within about 2 s.
	StoreTimeout     time.Duration
	HandshakeTimeout time.Duration // first request / SOCKS handshake, default 10 s
	IdleTimeout      time.Duration // idle keep-alive HTTP client connection, default 2 min

	// AuthFailuresPerSecond and AuthFailureBurst bound failed logins per
	// source IP (default 2/s, burst 20).
	AuthFailuresPerSecond float64
	AuthFailureBurst      int

	Now func() time.Time // default time.Now
}

func (c *Config) setDefaults() error {
	if c.Store == nil {
		return errors.New("gateway: Config.Store is required")
	}
	if c.Dialer == nil {
		c.Dialer = publicOnlyDialer()
		if c.AllowPrivateTargets {
			c.Dialer = &subgate.DirectDialer{}
		}
	}
	if c.DefaultProduct == "" {
		c.DefaultProduct = subgate.ProductAny
	}
	if _, err := subgate.ParseProduct(string(c.DefaultProduct)); err != nil {
		return err
	}
	if c.Node == "" {
		c.Node, _ = os.Hostname()
	}
	c.Node += "/" + ulid.Make().String()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.PollInterval, 250*time.Millisecond)
	def(&c.ChangePollInterval, 5*time.Second)
	def(&c.FlushInterval, 500*time.Millisecond)
	def(&c.LeaseTTL, time.Minute)
	def(&c.DialTimeout, 10*time.Second)
	def(&c.StoreTimeout, 1500*time.Millisecond)
	def(&c.HandshakeTimeout, 10*time.Second)
	def(&c.IdleTimeout, 2*time.Minute)
	if c.CredCacheSize <= 0 {
		c.CredCacheSize = DefaultCredCacheSize
	}
	if c.AuthFailuresPerSecond <= 0 {
		c.AuthFailuresPerSecond = 2
	}
	if c.AuthFailureBurst <= 0 {
		c.AuthFailureBurst = 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ProxyAddr == "" && c.HTTPAddr == "" && c.SOCKSAddr == "" {
		return errors.New("gateway: no listener configured (ProxyAddr, HTTPAddr and SOCKSAddr are all empty)")
	}
	return nil
}

// Gateway is a running proxy edge.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	creds   *credCache
	limiter *authLimiter
	meter   *meter
	flusher *flusher
	grace   time.Duration // how long a connection at the cap waits (concurrencyGrace)

	mu        sync.Mutex
	listeners []*listener
	idleHTTP  map[net.Conn]struct{} // HTTP clients between requests
	started   bool
	closing   bool

	conns    sync.WaitGroup // client connections being served
	loops    sync.WaitGroup // poll and flush loops
	stop     chan struct{}  // closed by Shutdown
	draining chan struct{}  // closed when Shutdown begins: admissions give up waiting
	stopped  chan struct{}  // closed when Shutdown has finished
	once     sync.Once
}

// New checks the configuration and builds a gateway; nothing listens yet.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "gateway"),
		stop:     make(chan struct{}),
		draining: make(chan struct{}),
		grace:    concurrencyGrace,
		stopped:  make(chan struct{}),
		idleHTTP: map[net.Conn]struct{}{},
	}
	g.metrics = newMetrics(cfg.Registerer)
	g.limiter = newAuthLimiter(cfg.AuthFailuresPerSecond, cfg.AuthFailureBurst, 10000)
	g.meter = newMeter(g)
	g.creds = newCredCache(cfg.Store, g.meter.onChange)
	g.creds.size, g.creds.live, g.creds.loadTimeout = cfg.CredCacheSize, g.meter.holds, cfg.StoreTimeout
	g.flusher = newFlusher(g)
	return g, nil
}

// Start prepares the credential cache, binds the listeners and begins serving
// in the background. It returns once the gateway accepts connections.
func (g *Gateway) Start(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		return errors.New("gateway: already started")
	}
	if err := g.creds.load(ctx); err != nil {
		return fmt.Errorf("gateway: load credentials: %w", err)
	}
	for _, spec := range []struct {
		addr string
		mode listenMode
	}{{g.cfg.ProxyAddr, modeSniff}, {g.cfg.HTTPAddr, modeHTTP}, {g.cfg.SOCKSAddr, modeSOCKS}} {
		if spec.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", spec.addr)
		if err != nil {
			for _, l := range g.listeners {
				l.Close()
			}
			g.listeners = nil
			return fmt.Errorf("gateway: listen on %s: %w", spec.addr, err)
		}
		g.listeners = append(g.listeners, &listener{Listener: ln, mode: spec.mode})
	}
	g.started = true
	if g.cfg.Service != nil {
		g.cfg.Service.OnSubUserChange(func(int64) { g.creds.poke() })
	}
	g.loops.Add(2)
	go g.creds.run(g.stop, g.cfg.PollInterval, g.cfg.ChangePollInterval, g.log, &g.loops)
	if g.cfg.Changes != nil {
		g.loops.Add(1)
		go g.creds.follow(g.stop, g.cfg.Changes, g.log, &g.loops)
	}
	go g.flusher.run(g.stop, &g.loops)
	g.loops.Add(1)
	go g.meter.runSlotSync(g.stop, &g.loops)
	for _, l := range g.listeners {
		g.loops.Add(1)
		go g.serve(l)
	}
	g.log.Info("gateway listening", "addrs", g.addrs(), "node", g.cfg.Node)
	return nil
}

// Run starts the gateway and serves until ctx is done or Shutdown is
// called; on ctx cancellation it shuts down gracefully (10 s bound).
func (g *Gateway) Run(ctx context.Context) error {
	if err := g.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return g.Shutdown(sctx)
	case <-g.stopped:
		return nil
	}
}

// Shutdown stops accepting, lets open connections finish until ctx is done,
// then cuts the rest, flushes all usage and releases every lease.
func (g *Gateway) Shutdown(ctx context.Context) error {
	var err error
	g.once.Do(func() {
		defer close(g.stopped)
		g.mu.Lock()
		g.closing = true
		close(g.draining)
		for _, l := range g.listeners {
			l.Close()
		}
		g.mu.Unlock()
		drained := make(chan struct{})
		go func() { g.conns.Wait(); close(drained) }()
		g.closeIdleHTTP()
		select {
		case <-drained:
		case <-ctx.Done():
			g.meter.cutAll("shutdown")
			<-drained
		}
		close(g.stop)
		g.loops.Wait()
		// Flushing must still be possible when ctx ran out waiting for
		// connections: it gets a bounded context of its own.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = g.flusher.final(fctx)
		if serr := g.meter.syncSlots(fctx, true); serr != nil {
			g.log.Warn("releasing connection slots failed; they expire instead", "err", serr)
		}
	})
	return err
}

// ProxyAddr, HTTPAddr and SOCKSAddr return the bound addresses (nil when
// that listener is disabled or the gateway has not started).
func (g *Gateway) ProxyAddr() net.Addr { return g.addrOf(modeSniff) }

// HTTPAddr is the dedicated HTTP proxy listener's address.
func (g *Gateway) HTTPAddr() net.Addr { return g.addrOf(modeHTTP) }

// SOCKSAddr is the dedicated SOCKS5 listener's address.
func (g *Gateway) SOCKSAddr() net.Addr { return g.addrOf(modeSOCKS) }

// Node is the name under which this process holds leases.
func (g *Gateway) Node() string { return g.cfg.Node }

func (g *Gateway) addrOf(m listenMode) net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, l := range g.listeners {
		if l.mode == m {
			return l.Addr()
		}
	}
	return nil
}

func (g *Gateway) addrs() []string {
	var out []string
	for _, l := range g.listeners {
		out = append(out, l.Addr().String())
	}
	return out
}

func (g *Gateway) now() time.Time { return g.cfg.Now() }

// setIdle marks an HTTP client connection as waiting for its next request
// (closed at once by Shutdown); false when shutting down already.
func (g *Gateway) setIdle(c net.Conn, idle bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if idle {
		if g.closing {
			return false
		}
		g.idleHTTP[c] = struct{}{}
	} else {
		delete(g.idleHTTP, c)
	}
	return true
}

func (g *Gateway) closeIdleHTTP() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.idleHTTP {
		c.Close()
	}
}
