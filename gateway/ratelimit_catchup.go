package gateway

import (
	"hash/maphash"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// missCache decides which authentication misses may refresh credentials
// from the store. A miss is worth a refresh only as a change that has not
// arrived yet (a sub-user created or given a new password a moment ago):
// so only the first sighting of a miss within missTTL refreshes, within a
// budget shared by all misses. Repeated failures, the bulk of any
// guessing, never reach the store; polling and the change feed deliver
// changes anyway, just not always before the client's first try.
type missCache struct {
	mu     sync.Mutex
	seed   maphash.Seed
	seen   map[uint64]time.Time // hashed miss → when it was last let refresh
	budget *rate.Limiter
}

const (
	missTTL      = time.Minute
	missMax      = 10000
	missRefresh  = 10 // catch-up refreshes a second, all misses together
	missRefreshB = 10
)

func newMissCache() *missCache {
	return &missCache{seed: maphash.MakeSeed(), seen: map[uint64]time.Time{},
		budget: rate.NewLimiter(missRefresh, missRefreshB)}
}

// first reports whether the miss named by parts may refresh: it was not
// seen within missTTL and the budget has room.
func (m *missCache) first(now time.Time, parts ...string) bool {
	var h maphash.Hash
	h.SetSeed(m.seed)
	for _, p := range parts {
		h.WriteString(p)
		h.WriteByte(0)
	}
	k := h.Sum64()
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.seen[k]; ok && now.Sub(t) < missTTL {
		return false
	}
	if !m.budget.AllowN(now, 1) {
		return false
	}
	if len(m.seen) >= missMax {
		for old, t := range m.seen {
			if now.Sub(t) >= missTTL {
				delete(m.seen, old)
			}
		}
	}
	if len(m.seen) < missMax { // else the budget alone bounds refreshes
		m.seen[k] = now
	}
	return true
}
