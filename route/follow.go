package route

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/subgate/subgate"
)

// DefaultFollowInterval is how often a Follower asks the store whether the
// stored configuration changed.
const DefaultFollowInterval = 2 * time.Second

// FollowOptions are a Follower's settings.
type FollowOptions struct {
	// Fallback is the configuration in force while none is stored (the
	// routes file or the default), FallbackSource says which.
	Fallback       Config
	FallbackSource subgate.RouteSource
	// Interval between polls of the stored version (DefaultFollowInterval when 0).
	Interval time.Duration
	// Registerer receives the follower's metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Follower keeps a Router on the routing configuration stored in the
// database, so a change made through any node reaches every node; while
// none is stored the router runs the fallback. A stored configuration this
// node cannot use is refused here alone: the router keeps what it had and
// State reports why.
type Follower struct {
	router   *Router
	store    subgate.RoutesStore
	opts     FollowOptions
	log      *slog.Logger
	failedGa prometheus.Gauge

	mu      sync.Mutex
	seen    int64 // newest stored version looked at, applied or not
	state   FollowState
	readErr string // the last failure to read the store, logged once
}

// FollowState says which configuration is in force on this node.
type FollowState struct {
	Source subgate.RouteSource `json:"source"`
	// Version is the stored version whose outcome is in force (after a drop,
	// the drop's); 0 before anything was stored.
	Version int64 `json:"version"`
	// Failure is the newest stored configuration this node refused, when
	// it is newer than the one in force.
	Failure *FollowFailure `json:"failure,omitempty"`
}

// FollowFailure is a stored configuration this node could not apply.
type FollowFailure struct {
	Version int64  `json:"version"`
	Error   string `json:"error"`
}

// NewFollower puts router (built with opts.Fallback) on the stored
// configuration, if any. It fails only when the store cannot be read: a
// stored configuration this node refuses leaves the fallback in force.
func NewFollower(ctx context.Context, router *Router, store subgate.RoutesStore, opts FollowOptions) (*Follower, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultFollowInterval
	}
	if opts.FallbackSource == "" {
		opts.FallbackSource = subgate.RouteSourceFile
	}
	f := &Follower{router: router, store: store, opts: opts, log: opts.Logger,
		state: FollowState{Source: opts.FallbackSource}}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.failedGa = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "subgate_route_stored_config_refused",
		Help: "1 while the newest stored routing configuration could not be applied on this node (the previous one stays in force).",
	})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(f.failedGa); err != nil {
			return nil, err
		}
	}
	st, err := store.StoredRoutes(ctx)
	if err != nil {
		return nil, err
	}
	f.Apply(st) //nolint:errcheck // a refusal is logged and kept in State
	return f, nil
}

// Config is the configuration in force (a copy).
func (f *Follower) Config() Config { return f.router.Config() }

// Health lists every egress of the configuration in force.
func (f *Follower) Health() []EgressHealth { return f.router.Health() }

// State says where the configuration in force comes from.
func (f *Follower) State() FollowState {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.state
	if s.Failure != nil {
		c := *s.Failure
		s.Failure = &c
	}
	return s
}

// Check says whether this node could put cfg in force, naming the field
// that stops it.
func (f *Follower) Check(cfg Config) error {
	cfg, err := cloneConfig(cfg)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	return CheckLocalAddrs(cfg)
}

// Apply puts a stored configuration in force, or the fallback when st holds
// none, unless a newer version was already looked at. A configuration this
// node cannot use is refused: the router keeps its routes, State and the
// refused-config metric report it, and the error says why.
func (f *Follower) Apply(st subgate.StoredRoutes) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st.Version <= f.seen {
		return nil
	}
	f.seen = st.Version
	cfg, source, err := f.configOf(st)
	if err == nil {
		err = f.router.Reload(cfg)
	}
	if err != nil {
		f.state.Failure = &FollowFailure{Version: st.Version, Error: err.Error()}
		f.failedGa.Set(1)
		f.log.Error("stored routing configuration refused on this node; the previous one stays in force",
			"version", st.Version, "err", err)
		return err
	}
	f.state = FollowState{Source: source, Version: st.Version}
	f.failedGa.Set(0)
	f.log.Info("routing configuration in force", "source", source, "version", st.Version)
	return nil
}

// configOf is the configuration a stored state asks for and its source.
func (f *Follower) configOf(st subgate.StoredRoutes) (Config, subgate.RouteSource, error) {
	if st.Config == nil {
		return f.opts.Fallback, f.opts.FallbackSource, nil
	}
	var cfg Config
	if err := Parse(st.Config, &cfg); err != nil {
		return cfg, "", err
	}
	return cfg, subgate.RouteSourceStored, CheckLocalAddrs(cfg)
}

// Sync applies the stored configuration when its version changed. The
// version alone is read unless it did.
func (f *Follower) Sync(ctx context.Context) error {
	v, err := f.store.RoutesVersion(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	seen := f.seen
	f.mu.Unlock()
	if v <= seen {
		return nil
	}
	st, err := f.store.StoredRoutes(ctx)
	if err != nil {
		return err
	}
	f.Apply(st) //nolint:errcheck // a refusal is logged and kept in State
	return nil
}

// Run polls the store until ctx ends. A store that cannot be read leaves
// the configuration in force as it is.
func (f *Follower) Run(ctx context.Context) error {
	t := time.NewTicker(f.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		f.noteReadError(ctx, f.Sync(ctx))
	}
}

// noteReadError logs the first failure of a run of them and the recovery.
func (f *Follower) noteReadError(ctx context.Context, err error) {
	msg := ""
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		msg = err.Error()
	}
	f.mu.Lock()
	prev := f.readErr
	f.readErr = msg
	f.mu.Unlock()
	switch {
	case msg != "" && prev == "":
		f.log.Warn("cannot read the stored routing configuration; keeping the one in force", "err", err)
	case msg == "" && prev != "":
		f.log.Info("stored routing configuration readable again")
	}
}

// CheckLocalAddrs checks that every local source address of cfg (direct
// source_addrs, static local IPs) belongs to this host: a configuration
// shared by several nodes may name addresses one of them lacks.
func CheckLocalAddrs(cfg Config) error {
	for _, p := range slices.Sorted(maps.Keys(cfg.Routes)) {
		r, field := cfg.Routes[p], "routes."+string(p)
		for i, a := range r.SourceAddrs {
			if err := canBind(a); err != nil {
				return subgate.Invalidf(field+".source_addrs["+strconv.Itoa(i)+"]", "%s is not an address of this host", a)
			}
		}
		for i, e := range r.Static {
			if e.Address == "" {
				continue
			}
			if err := canBind(e.Address); err != nil {
				return subgate.Invalidf(field+".static["+strconv.Itoa(i)+"].address", "%s is not an address of this host", e.Address)
			}
		}
	}
	return nil
}

// canBind binds a UDP socket to addr: it succeeds exactly when the host can
// send from that address. Nothing is sent.
func canBind(addr string) error {
	c, err := net.ListenPacket("udp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return err
	}
	return c.Close()
}
