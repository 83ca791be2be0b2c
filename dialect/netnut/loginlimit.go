package netnut

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed logins a source may make in a burst, and how fast it earns another.
const (
	loginBurst       = 10
	loginRefill      = 6 * time.Second
	loginMaxSources  = 10000
	loginRetryAfterS = 6
)

// loginLimiter slows password guessing: every source address has a token
// bucket that only failed logins drain, so a reseller who types the right
// password is never held back by its own successes. The map of sources is
// bounded; IPv6 sources count per /64, which one client can easily span.
type loginLimiter struct {
	mu      sync.Mutex
	sources map[netip.Addr]*rate.Limiter
	every   rate.Limit
	burst   int
	max     int
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{sources: map[netip.Addr]*rate.Limiter{}, every: rate.Every(loginRefill), burst: loginBurst, max: loginMaxSources}
}

// attempt reserves one failure for the source of r. ok is false when the
// source has no failures left; otherwise done must be called with whether
// the login failed (a success gives the reservation back).
func (l *loginLimiter) attempt(r *http.Request) (done func(failed bool), ok bool) {
	now := time.Now()
	res := l.limiter(sourceOf(r), now).ReserveN(now, 1)
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

func (l *loginLimiter) limiter(src netip.Addr, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.sources[src]; ok {
		return lim
	}
	if len(l.sources) >= l.max {
		l.evict(now)
	}
	lim := rate.NewLimiter(l.every, l.burst)
	l.sources[src] = lim
	return lim
}

// evict forgets sources whose bucket is full again (they are limited no
// more than a new source); if every source is still limited, it forgets
// an arbitrary one so the map stays bounded.
func (l *loginLimiter) evict(now time.Time) {
	for src, lim := range l.sources {
		if lim.TokensAt(now) >= float64(l.burst) {
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

// sourceOf is the peer address of r (its /64 for IPv6).
func sourceOf(r *http.Request) netip.Addr {
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

// tooManyLogins answers 429 in NetNut's envelope.
func tooManyLogins(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(loginRetryAfterS))
	fail(w, http.StatusTooManyRequests, "", "too many failed logins from this address; try again later")
}
