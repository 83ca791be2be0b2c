package gateway

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// authLimiter bounds failed authentications per source: an IPv4 address or
// an IPv6 /64 (one host usually holds a whole /64, so single IPv6 addresses
// would cost an attacker nothing). Only failures spend tokens, so valid
// users are never slowed; once a source is out of tokens, its attempts are
// refused unchecked, except for a sub-user that already authenticated
// successfully from that IP (a valid user behind the same NAT as an
// attacker keeps working, while the attacker cannot test new passwords).
//
// The maps are bounded. A full limiter map makes room only by dropping
// sources back at full burst, which remember nothing; a source currently
// limited is never dropped. Sources that find no room share one overflow
// limiter, so a flood of new sources is slowed too rather than unchecked.
type authLimiter struct {
	mu        sync.Mutex
	limit     rate.Limit
	burst     int
	max       int
	ips       map[netip.Prefix]*rate.Limiter
	overflow  *rate.Limiter         // sources without an entry of their own
	nextSweep time.Time             // no sweep of a full map before this
	good      map[goodKey]time.Time // recent successful (IP, sub-user) pairs
	goodTT    time.Duration
}

type goodKey struct {
	ip netip.Addr
	id int64
}

func newAuthLimiter(perSecond float64, burst, max int) *authLimiter {
	return &authLimiter{
		limit: rate.Limit(perSecond), burst: burst, max: max,
		ips: map[netip.Prefix]*rate.Limiter{}, overflow: rate.NewLimiter(rate.Limit(perSecond), burst),
		good: map[goodKey]time.Time{}, goodTT: time.Hour,
	}
}

// sourceOf is the key failures are counted under: the IPv4 address, or the
// IPv6 /64.
func sourceOf(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}

// blocked reports whether ip has used up its failures, unless the sub-user id
// (0 when not known yet) is a recent good one from that IP.
func (l *authLimiter) blocked(ip netip.Addr, id int64, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.ips[sourceOf(ip)]
	if !ok {
		if len(l.ips) < l.max {
			return false // nothing failed from there lately
		}
		lim = l.overflow // its failures went there
	}
	if lim.TokensAt(now) >= 1 {
		return false
	}
	if t, ok := l.good[goodKey{ip, id}]; ok && id != 0 && now.Sub(t) < l.goodTT {
		return false
	}
	return true
}

// failed spends one token of ip's source.
func (l *authLimiter) failed(ip netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := sourceOf(ip)
	lim, ok := l.ips[key]
	if !ok && (len(l.ips) < l.max || l.sweepLocked(now)) {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.ips[key] = lim
	}
	if lim == nil {
		lim = l.overflow
	}
	lim.AllowN(now, 1)
}

// sweepLocked drops the limiters back at full burst; it reports whether
// that made room. A sweep that finds none is not repeated for a second, so
// a full map of limited sources costs one scan per second, not per failure.
func (l *authLimiter) sweepLocked(now time.Time) bool {
	if now.Before(l.nextSweep) {
		return false
	}
	for k, lim := range l.ips {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.ips, k)
		}
	}
	if len(l.ips) >= l.max {
		l.nextSweep = now.Add(time.Second)
		return false
	}
	return true
}

// succeeded remembers a good (IP, sub-user) pair.
func (l *authLimiter) succeeded(ip netip.Addr, id int64, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := goodKey{ip, id}
	if _, ok := l.good[k]; !ok && len(l.good) >= l.max {
		for k := range l.good {
			delete(l.good, k)
			break
		}
	}
	l.good[k] = now
}
