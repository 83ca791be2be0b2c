package gateway

import (
	"sync/atomic"

	"github.com/subgate/subgate"
)

// credEntry is a sub-user the credential cache holds. used is set by every
// lookup that finds it and cleared when eviction's hand passes over it (the
// CLOCK algorithm): what was looked up since the hand last passed stays,
// and a hit costs no write lock.
type credEntry struct {
	user *subgate.SubUser
	used atomic.Bool
	slot int // index in credCache.ring
}

// use returns the entry's sub-user (nil for no entry) and marks it used.
func (e *credEntry) use() *subgate.SubUser {
	if e == nil {
		return nil
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.user
}

// putLocked holds u, replacing what the cache held of it.
func (c *credCache) putLocked(u *subgate.SubUser) {
	e := c.byID[u.ID]
	if e == nil {
		e = &credEntry{slot: len(c.ring)}
		e.used.Store(true) // looked up now, or changed while someone waits for it
		c.byID[u.ID] = e
		c.ring = append(c.ring, e)
	} else if c.byName[e.user.Username] == e {
		delete(c.byName, e.user.Username)
	}
	e.user = u
	c.byName[u.Username] = e
	delete(c.absent, u.Username)
}

// dropLocked forgets the sub-user with that id.
func (c *credCache) dropLocked(id int64) {
	e := c.byID[id]
	if e == nil {
		return
	}
	delete(c.byID, id)
	if c.byName[e.user.Username] == e {
		delete(c.byName, e.user.Username)
	}
	last := c.ring[len(c.ring)-1]
	c.ring[e.slot], last.slot = last, e.slot
	c.ring = c.ring[:len(c.ring)-1]
	if c.hand >= len(c.ring) {
		c.hand = 0
	}
}

// addAbsentLocked remembers that the store does not know name. The set is
// as bounded as the cache; when full, an arbitrary name is forgotten (it
// costs one more load if tried again).
func (c *credCache) addAbsentLocked(name string) {
	for k := range c.absent {
		if len(c.absent) < c.size {
			break
		}
		delete(c.absent, k)
	}
	c.absent[name] = struct{}{}
}

// evict brings the held sub-users back to size. A sub-user enforcement
// holds (live: it has sessions, or leases not yet released) is never
// evicted, even when that leaves more than size held. live takes the
// meter's lock, so it is asked without the cache's: a candidate is dropped
// only if nothing used it meanwhile (authentication and admission both do
// before a session registers).
func (c *credCache) evict() {
	if !c.evictMu.TryLock() {
		return // another call is at it
	}
	defer c.evictMu.Unlock()
	for range 4 { // live ones may refill a round's candidates; bounded
		c.mu.Lock()
		cands := c.candidatesLocked(len(c.ring) - c.size)
		c.mu.Unlock()
		if len(cands) == 0 {
			return
		}
		spare := cands[:0]
		for _, cand := range cands {
			if c.live != nil && c.live(cand.id) {
				cand.e.used.Store(true) // passed over by the next round too
				continue
			}
			spare = append(spare, cand)
		}
		c.mu.Lock()
		for _, cand := range spare {
			if c.byID[cand.id] == cand.e && !cand.e.used.Load() {
				c.dropLocked(cand.id)
			}
		}
		c.mu.Unlock()
	}
}

// evictCandidate is an entry eviction may drop, with its sub-user's id
// read under the cache's lock.
type evictCandidate struct {
	e  *credEntry
	id int64
}

// Eviction bounds the work of one round, done under the cache's lock:
// the cache may stay above size for a while (sub-users with live sessions
// beyond it, or a sweep of used ones), shrinking over the next rounds.
const (
	evictMaxCandidates = 64
	evictMaxSteps      = 4096
)

// candidatesLocked moves the hand until it has found n entries (at most
// evictMaxCandidates) not used since it last passed them, clearing the used
// mark of those it passes, or has taken evictMaxSteps steps.
func (c *credCache) candidatesLocked(n int) []evictCandidate {
	n = min(n, evictMaxCandidates)
	if n <= 0 {
		return nil
	}
	var cands []evictCandidate
	chosen := make(map[*credEntry]bool, n)
	for steps := min(2*len(c.ring), evictMaxSteps); steps > 0 && len(cands) < n; steps-- {
		e := c.ring[c.hand]
		c.hand = (c.hand + 1) % len(c.ring)
		if e.used.Swap(false) || chosen[e] {
			continue
		}
		chosen[e] = true
		cands = append(cands, evictCandidate{e, e.user.ID})
	}
	return cands
}
