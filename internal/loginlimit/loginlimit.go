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
// and how many sources are remembered.
const (
	Burst      = 10
	Refill     = 6 * time.Second
	MaxSources = 10000
)

// Limiter gives every source address a token bucket that only failed
// logins drain, so someone who types the right password is never held back
// by their own successes. The map of sources is bounded; IPv6 sources count
// per /64, which one client can easily span.
type Limiter struct {
	mu      sync.Mutex
	sources map[netip.Addr]*rate.Limiter
	max     int
}

// New returns a Limiter with the package's burst, refill and bound.
func New() *Limiter { return newBounded(MaxSources) }

func newBounded(max int) *Limiter {
	return &Limiter{sources: map[netip.Addr]*rate.Limiter{}, max: max}
}

// Attempt reserves one failure for the source of r. ok is false when the
// source has no failures left; otherwise done must be called with whether
// the login failed (a success gives the reservation back).
func (l *Limiter) Attempt(r *http.Request) (done func(failed bool), ok bool) {
	now := time.Now()
	res := l.limiter(SourceOf(r), now).ReserveN(now, 1)
	if !res.OK() || res.DelayFrom(now) > 0 {
		res.CancelAt(now)
		return nil, false
	}
	return func(failed bool) {
		if !failed {
			// At the reservation's own time: a reservation already due
			// is only given back when cancelled as of then.
			res.CancelAt(now)
		}
	}, true
}

func (l *Limiter) limiter(src netip.Addr, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.sources[src]; ok {
		return lim
	}
	if len(l.sources) >= l.max {
		l.evict(now)
	}
	lim := rate.NewLimiter(rate.Every(Refill), Burst)
	l.sources[src] = lim
	return lim
}

// evict forgets sources whose bucket is full again (they are limited no
// more than a new source); if every source is still limited, it forgets
// an arbitrary one so the map stays bounded.
func (l *Limiter) evict(now time.Time) {
	for src, lim := range l.sources {
		if lim.TokensAt(now) >= Burst {
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
