package route

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/subgate/subgate"
)

// StaticIPSource lists the static IPs dedicated to a sub-user (see
// StoreStaticIPs for the store-backed one).
type StaticIPSource interface {
	SubUserStaticIPs(ctx context.Context, subUserID int64) ([]StaticEgress, error)
}

// staticMember is a static IP: a local source address or an upstream static
// proxy, named by its inventory ID.
type staticMember struct {
	member
	name string
	key  string
}

// newStaticMember compiles an inventory entry; a local address refuses
// private targets unless allowPrivate (a static proxy resolves the target
// itself, on its own network).
func newStaticMember(e StaticEgress, allowPrivate bool) (*staticMember, error) {
	if err := e.normalize(); err != nil {
		return nil, err
	}
	if e.Address != "" {
		a := netip.MustParseAddr(e.Address)
		return &staticMember{member: newLocalMember(a, allowPrivate), name: e.ID, key: a.String()}, nil
	}
	p, _ := ParseStaticProxy(e.Proxy) // normalize checked it
	m, err := newUpstreamMember(Upstream{Name: e.ID, Proxy: p}, localDial)
	if err != nil {
		return nil, err
	}
	return &staticMember{member: m, name: e.ID, key: p.Address}, nil
}

func (m *staticMember) id() string { return m.name }

// checkTarget passes the local address's target check on (see targetChecker).
func (m *staticMember) checkTarget(c *call) error {
	if tc, ok := m.member.(targetChecker); ok {
		return tc.checkTarget(c)
	}
	return nil
}

// admitKey is the static IP (or the static proxy standing for it).
func (m *staticMember) admitKey(*call) string { return m.key }

type staticSlot struct {
	egress StaticEgress
	slot
}

// staticRoute egresses from a shared inventory or, when dedicated, from the
// IPs allocated to the connection's sub-user, filtered by the requested country.
type staticRoute struct {
	router    *Router
	product   subgate.Product
	pool      pool
	dedicated bool
	shared    []staticSlot
	// allowPrivate is the configuration's AllowPrivateTargets, for the
	// dedicated IPs compiled on demand.
	allowPrivate bool

	mu      sync.Mutex
	members map[StaticEgress]*staticMember // compiled dedicated IPs
}

func (s *staticRoute) picker() *pool { return &s.pool }

func (s *staticRoute) candidates(ctx context.Context, c *call) ([]slot, error) {
	egress := s.shared
	if s.dedicated {
		var err error
		if egress, err = s.dedicatedSlots(ctx, c); err != nil {
			return nil, err
		}
	}
	cc := countryToken(c.req.Target.Country)
	var out []slot
	for _, e := range egress {
		if cc == "" || e.egress.Country == cc {
			out = append(out, e.slot)
		}
	}
	if len(out) == 0 && cc != "" && len(egress) > 0 {
		return nil, noEgress("no static IP in country %q for product %s", cc, c.product)
	}
	return out, nil
}

func (s *staticRoute) dedicatedSlots(ctx context.Context, c *call) ([]staticSlot, error) {
	if s.router.statics == nil || c.req.SubUser == nil {
		return nil, noEgress("no static IPs are allocated to this sub-user")
	}
	list, err := s.router.statics.SubUserStaticIPs(ctx, c.req.SubUser.ID)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, noEgress("no static IPs are allocated to this sub-user")
	}
	out := make([]staticSlot, 0, len(list))
	for _, e := range list {
		m, err := s.member(e)
		if err != nil {
			return nil, err
		}
		out = append(out, staticSlot{egress: e, slot: slot{m: m, h: s.router.healthFor(s.product, m.id())}})
	}
	return out, nil
}

// member compiles a dedicated IP once and reuses it while the configuration lasts.
func (s *staticRoute) member(e StaticEgress) (*staticMember, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.members[e]; m != nil {
		return m, nil
	}
	m, err := newStaticMember(e, s.allowPrivate)
	if err != nil {
		return nil, err
	}
	if s.members == nil {
		s.members = map[StaticEgress]*staticMember{}
	}
	s.members[e] = m
	return m, nil
}

// StoreStaticIPs feeds the router the static IPs allocated in the store. Each
// sub-user's list is cached for a short while; Forget drops it at once (wire
// it to Service.OnSubUserChange so allocations and releases apply to the next
// connection).
type StoreStaticIPs struct {
	store subgate.StaticIPStore
	ttl   time.Duration
	now   func() time.Time

	mu    sync.Mutex
	cache map[int64]cachedIPs
}

type cachedIPs struct {
	list    []StaticEgress
	expires time.Time
}

// maxCachedSubUsers bounds the cache; past it expired lists are swept and,
// if still full, the cache starts over.
const maxCachedSubUsers = 100_000

// NewStoreStaticIPs caches lists for ttl (5 s when 0).
func NewStoreStaticIPs(store subgate.StaticIPStore, ttl time.Duration) *StoreStaticIPs {
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	return &StoreStaticIPs{store: store, ttl: ttl, now: time.Now, cache: map[int64]cachedIPs{}}
}

// SubUserStaticIPs implements StaticIPSource.
func (s *StoreStaticIPs) SubUserStaticIPs(ctx context.Context, subUserID int64) ([]StaticEgress, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[subUserID]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.list, nil
	}
	ips, err := s.store.SubUserStaticIPs(ctx, subUserID)
	if err != nil {
		return nil, err
	}
	list := make([]StaticEgress, 0, len(ips))
	for _, ip := range ips {
		list = append(list, StaticEgress{ID: "static-" + strconv.FormatInt(ip.ID, 10), Address: ip.Address,
			Proxy: ip.Upstream, Country: ip.Country, AccessPoint: ip.AccessPoint})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= maxCachedSubUsers {
		for id, c := range s.cache {
			if !now.Before(c.expires) {
				delete(s.cache, id)
			}
		}
		if len(s.cache) >= maxCachedSubUsers {
			clear(s.cache)
		}
	}
	s.cache[subUserID] = cachedIPs{list: list, expires: now.Add(s.ttl)}
	return list, nil
}

// Forget drops a sub-user's cached list.
func (s *StoreStaticIPs) Forget(subUserID int64) {
	s.mu.Lock()
	delete(s.cache, subUserID)
	s.mu.Unlock()
}
