// Package route decides where a sub-user's outbound connection leaves the
// gateway: directly (optionally from chosen source addresses), through
// upstream proxies with the connection's targeting rewritten into each
// upstream's syntax, or from static egress IPs, including IPs dedicated to a
// sub-user. Router implements subgate.Dialer.
package route

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/subgate/subgate"
)

// Options are the router's dependencies.
type Options struct {
	// Registerer receives the router's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock (time.Now when nil); tests inject one.
	Now func() time.Time
	// StaticIPs lists a sub-user's dedicated static IPs, for static routes
	// with dedicated set. Nil means no sub-user has any.
	StaticIPs StaticIPSource
	Logger    *slog.Logger
}

// Router is the gateway's subgate.Dialer. Its configuration can be swapped
// at run time with Reload; connections already open are not affected.
type Router struct {
	table    atomic.Pointer[table]
	sessions *sessions
	metrics  *metrics
	now      func() time.Time
	log      *slog.Logger
	statics  StaticIPSource

	mu     sync.Mutex
	health map[string]*health // by route and member id
}

var _ subgate.Dialer = (*Router)(nil)

// table is one compiled configuration.
type table struct {
	cfg    Config
	routes map[subgate.Product]compiledRoute
}

// compiledRoute supplies the members a connection may use.
type compiledRoute interface {
	candidates(ctx context.Context, c *call) ([]slot, error)
	picker() *pool
}

// New builds a router from a configuration (validated here).
func New(cfg Config, opts Options) (*Router, error) {
	r := &Router{now: opts.Now, log: opts.Logger, statics: opts.StaticIPs, health: map[string]*health{}}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.sessions = newSessions(DefaultMaxSessions)
	if err := r.Reload(cfg); err != nil {
		return nil, err
	}
	r.metrics = newMetrics(r)
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(r.metrics); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Reload validates cfg and makes it the router's configuration atomically.
// Health of members that stay is kept; sticky sessions bound to members that
// are gone re-pick on their next connection.
func (r *Router) Reload(cfg Config) error {
	cfg, err := cloneConfig(cfg)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	t := &table{cfg: cfg, routes: map[subgate.Product]compiledRoute{}}
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := map[string]bool{}
	for p, rc := range cfg.Routes {
		cr, err := r.compile(cfg, p, rc, keep)
		if err != nil {
			return err
		}
		t.routes[p] = cr
	}
	for k := range r.health {
		if !keep[k] {
			delete(r.health, k)
		}
	}
	r.sessions.setMax(cfg.MaxSessions)
	r.table.Store(t)
	return nil
}

// Config returns a copy of the configuration in force, defaults filled.
func (r *Router) Config() Config {
	c, _ := cloneConfig(r.table.Load().cfg)
	return c
}

func cloneConfig(c Config) (Config, error) {
	var out Config
	b, err := json.Marshal(c)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(b, &out)
	return out, err
}

// compile builds one route; r.mu is held. keep collects the health keys in use.
func (r *Router) compile(cfg Config, p subgate.Product, rc Route, keep map[string]bool) (compiledRoute, error) {
	slotOf := func(m member) slot {
		h := r.healthLocked(p, m.id())
		keep[healthKey(p, m.id())] = true
		return slot{m: m, h: h}
	}
	switch rc.Kind {
	case KindDirect:
		d := &directRoute{pool: pool{pick: rc.Pick}}
		for _, s := range rc.SourceAddrs {
			d.slots = append(d.slots, slotOf(newLocalMember(netip.MustParseAddr(s), cfg.AllowPrivateTargets)))
		}
		if len(d.slots) == 0 {
			d.slots = []slot{slotOf(newLocalMember(netip.Addr{}, cfg.AllowPrivateTargets))}
		}
		return d, nil
	case KindUpstream:
		u := &upstreamRoute{pool: pool{pick: rc.Pick}}
		for _, up := range rc.Upstreams {
			m, err := newUpstreamMember(up, localDial)
			if err != nil {
				return nil, err
			}
			u.slots = append(u.slots, slotOf(m))
		}
		return u, nil
	default: // KindStatic; Validate allows nothing else
		s := &staticRoute{router: r, product: p, pool: pool{pick: rc.Pick}, dedicated: rc.Dedicated,
			allowPrivate: cfg.AllowPrivateTargets}
		for _, e := range rc.Static {
			m, err := newStaticMember(e, cfg.AllowPrivateTargets)
			if err != nil {
				return nil, err
			}
			s.shared = append(s.shared, staticSlot{egress: e, slot: slotOf(m)})
		}
		return s, nil
	}
}

func healthKey(p subgate.Product, id string) string { return string(p) + "\x00" + id }

func (r *Router) healthLocked(p subgate.Product, id string) *health {
	k := healthKey(p, id)
	h := r.health[k]
	if h == nil {
		h = &health{route: string(p), member: id}
		r.health[k] = h
	}
	return h
}

func (r *Router) healthFor(p subgate.Product, id string) *health {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.healthLocked(p, id)
}

// Dial opens an outbound connection for a sub-user according to the route
// of its product. A product without a route is EINVALID; a session sticks to
// its egress for its ttl.
func (r *Router) Dial(ctx context.Context, req subgate.DialRequest) (net.Conn, error) {
	t := r.table.Load()
	c := r.newCall(t, req)
	rt, ok := t.routes[c.product]
	if !ok {
		r.metrics.dial(c.product, resultNoRoute)
		return nil, noRoute(c.product)
	}
	slots, err := rt.candidates(ctx, c)
	if err != nil {
		r.metrics.dial(c.product, resultNoEgress)
		return nil, err
	}
	return r.dialSlots(ctx, t, rt.picker(), c, slots)
}

// call is one connection being routed.
type call struct {
	req     subgate.DialRequest
	product subgate.Product
	now     time.Time
	sticky  bool
	skey    sessionKey
	ttl     time.Duration
	derived derivedSession
}

func (r *Router) newCall(t *table, req subgate.DialRequest) *call {
	c := &call{req: req, product: req.Target.Product, now: r.now()}
	if c.product == "" || c.product == subgate.ProductAny {
		c.product = t.cfg.DefaultProduct
	}
	if req.Target.Session != "" {
		var id int64
		if req.SubUser != nil {
			id = req.SubUser.ID
		}
		c.sticky = true
		c.skey = sessionKey{subUserID: id, product: c.product, session: req.Target.Session}
		c.ttl = time.Duration(t.cfg.SessionTTL)
		if req.Target.SessionTTL > 0 {
			c.ttl = min(req.Target.SessionTTL, time.Duration(t.cfg.MaxSessionTTL))
		}
		c.derived = deriveSession(id, req.Target.Session)
	}
	return c
}

func (c *call) network() string {
	if c.req.Network == "" {
		return "tcp"
	}
	return c.req.Network
}

// params are the rewrite inputs for an upstream account.
func (c *call) params(user, pass, productToken string) Params {
	p := Params{
		User: user, Pass: pass, Product: productToken,
		Country: countryToken(c.req.Target.Country),
		State:   locationToken(c.req.Target.State),
		City:    locationToken(c.req.Target.City),
	}
	if p.Product == "" {
		p.Product = string(c.product)
	}
	if c.sticky {
		p.Session, p.SessionNum, p.SessionHex = c.derived.Alnum, c.derived.Num, c.derived.Hex
		p.TTL = c.ttl
	}
	return p
}

// countryToken normalises a country code; "uk", NetNut's spelling, is ISO's gb.
func countryToken(s string) string {
	cc := locationToken(s)
	if cc == "uk" {
		return "gb"
	}
	return cc
}

// locationToken lower-cases a place name and drops everything but letters
// and digits, since '-' and '_' separate parameters in provider syntaxes
// ("Los Angeles" → "losangeles").
func locationToken(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}
