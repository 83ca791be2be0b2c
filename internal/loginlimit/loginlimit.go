// Package loginlimit slows password and token guessing at the HTTP edges
// that accept a login (the NetNut dialect, the dashboard).
package loginlimit

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed logins a source may make in a burst, how fast it earns another,
// and how many sources are remembered. An IPv6 /48, which one client can
// hold as easily as a /64, has a bucket of its own on top of its /64s'.
const (
	Burst         = 10
	Refill        = 6 * time.Second
	NetworkBurst  = 10 * Burst
	NetworkRefill = Refill / 10
	MaxSources    = 10000
)

// Limiter gives every source address a token bucket that only failed
// logins drain, so someone who types the right password is never held back
// by their own successes. The map of sources is bounded; IPv6 sources count
// per /64, which one client easily spans, and each /48 also has a bucket.
type Limiter struct {
	mu      sync.Mutex
	sources map[netip.Prefix]*rate.Limiter
	max     int
	now     func() time.Time
}

// New returns a Limiter with the package's burst, refill and bound.
func New() *Limiter { return newBounded(MaxSources) }

func newBounded(max int) *Limiter {
	return &Limiter{sources: map[netip.Prefix]*rate.Limiter{}, max: max, now: time.Now}
}

// Attempt reserves one failure for the source of r. ok is false when the
// source has no failures left; otherwise done must be called with whether
// the login failed (a success gives the reservation back).
func (l *Limiter) Attempt(r *http.Request) (done func(failed bool), ok bool) {
	now := l.now()
	var held []*rate.Reservation
	// At the reservations' own time: a reservation already due is only
	// given back when cancelled as of then.
	giveBack := func() {
		for _, res := range held {
			res.CancelAt(now)
		}
	}
	for _, src := range sourcesOf(r) {
		res := l.limiter(src, now).ReserveN(now, 1)
		if !res.OK() || res.DelayFrom(now) > 0 {
			res.CancelAt(now)
			giveBack()
			return nil, false
		}
		held = append(held, res)
	}
	return func(failed bool) {
		if !failed {
			giveBack()
		}
	}, true
}

func (l *Limiter) limiter(src netip.Prefix, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.sources[src]; ok {
		return lim
	}
	if len(l.sources) >= l.max {
		l.evict(now)
	}
	lim := rate.NewLimiter(rate.Every(Refill), Burst)
	if src.Bits() == networkBits {
		lim = rate.NewLimiter(rate.Every(NetworkRefill), NetworkBurst)
	}
	l.sources[src] = lim
	return lim
}

// evict forgets sources whose bucket is full again (they are limited no
// more than a new source); if every source is still limited, it forgets
// an arbitrary one so the map stays bounded.
func (l *Limiter) evict(now time.Time) {
	for src, lim := range l.sources {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(l.sources, src)
		}
	}
	for src := range l.sources {
		if len(l.sources) < l.max {
			break
		}
		delete(l.sources, src)
	}
}

// networkBits is the IPv6 network counted as a whole besides its /64s.
const networkBits = 48

// sourcesOf is what a login from r counts against: its address (/64 for
// IPv6) and, for IPv6, its /48.
func sourcesOf(r *http.Request) []netip.Prefix {
	a := SourceOf(r)
	if !a.Is6() {
		return []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}
	}
	network, _ := a.Prefix(networkBits)
	return []netip.Prefix{netip.PrefixFrom(a, 64), network}
}

// SourceOf is the peer address of r (its /64 for IPv6).
func SourceOf(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
