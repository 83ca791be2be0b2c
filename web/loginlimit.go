package web

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed sign-ins a source address may make in a burst, how fast it earns
// another, and how many addresses are remembered.
const (
	loginBurst      = 10
	loginRefill     = 6 * time.Second
	loginMaxSources = 10000
)

// loginLimiter slows password and token guessing. Only failures drain a
// source's bucket, so someone who signs in correctly is never held back.
type loginLimiter struct {
	mu      sync.Mutex
	sources map[netip.Addr]*rate.Limiter
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{sources: map[netip.Addr]*rate.Limiter{}}
}

// attempt reserves a failure for r's source; ok is false when it has none
// left. done(failed) gives the reservation back after a success.
func (l *loginLimiter) attempt(r *http.Request) (done func(failed bool), ok bool) {
	now := time.Now()
	res := l.limiter(sourceOf(r), now).ReserveN(now, 1)
	if !res.OK() || res.DelayFrom(now) > 0 {
		res.CancelAt(now)
		return nil, false
	}
	return func(failed bool) {
		if !failed {
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
	if len(l.sources) >= loginMaxSources {
		// Forget sources that are back to a full bucket; if none are,
		// start over rather than grow without bound.
		for a, lim := range l.sources {
			if lim.TokensAt(now) >= loginBurst {
				delete(l.sources, a)
			}
		}
		if len(l.sources) >= loginMaxSources {
			clear(l.sources)
		}
	}
	lim := rate.NewLimiter(rate.Every(loginRefill), loginBurst)
	l.sources[src] = lim
	return lim
}

// sourceOf is r's peer address; IPv6 counts per /64.
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
