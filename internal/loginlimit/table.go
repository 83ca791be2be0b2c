package loginlimit

import (
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket of failed logins: Burst at once, then one more
// every Every.
type Rate struct {
	Burst int
	Every time.Duration
}

func (r Rate) limiter() *rate.Limiter { return rate.NewLimiter(rate.Every(r.Every), r.Burst) }

// table holds one bucket per key, bounded to max keys. A full table makes
// room only by dropping buckets that are full again, which remember
// nothing; a key still limited is never dropped. Keys that find no room
// share one overflow bucket, so a flood of new keys is slowed too rather
// than let through unchecked.
type table[K comparable] struct {
	rate      Rate
	max       int
	buckets   map[K]*rate.Limiter
	overflow  *rate.Limiter
	nextSweep time.Time // no sweep of a full table before this
}

func newTable[K comparable](r Rate, max int) *table[K] {
	return &table[K]{rate: r, max: max, buckets: map[K]*rate.Limiter{}, overflow: r.limiter()}
}

// bucket returns k's bucket, made on first use.
func (t *table[K]) bucket(k K, now time.Time) *rate.Limiter {
	if b, ok := t.buckets[k]; ok {
		return b
	}
	if len(t.buckets) >= t.max && !t.sweep(now) {
		return t.overflow
	}
	b := t.rate.limiter()
	t.buckets[k] = b
	return b
}

// sweep drops the buckets that are full again; it reports whether that
// made room. A sweep that finds none is not repeated for a second, so a
// full table of limited keys costs one scan a second, not one a login.
func (t *table[K]) sweep(now time.Time) bool {
	if now.Before(t.nextSweep) {
		return false
	}
	for k, b := range t.buckets {
		if b.TokensAt(now) >= float64(t.rate.Burst) {
			delete(t.buckets, k)
		}
	}
	if len(t.buckets) >= t.max {
		t.nextSweep = now.Add(time.Second)
		return false
	}
	return true
}
