package gateway

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/subgate/subgate"
)

// Connection slots: max_concurrency counts connections across nodes. A
// node holds slots of a capped sub-user in the store (AcquireSlots) and
// admits a connection while its open connections and admissions in flight
// stay below its hold; otherwise it asks the store for one more. syncSlots
// shrinks the holds to what is in use and renews them; a hold not renewed
// (a dead node) expires after LeaseTTL and its slots return.

// slotState is an account's share of the slot bookkeeping; the account's
// mu guards it, except slotMu.
type slotState struct {
	slots       int64     // held in the store (never more than the store holds)
	slotsUntil  time.Time // when the hold expires unless renewed
	slotClaims  int64     // slots taken by admissions not yet registered
	slotWaiters int       // admissions asking the store: the account must stay
	slotsDirty  bool      // the store may hold more than slots
	slotMu      sync.Mutex
	slotFailed  time.Time // when the latest store request failed; slotMu guards it

	graceWaiters int           // admissions waiting for a slot: the account must stay
	wake         chan struct{} // closed to wake them (see slotwait.go)
}

// freeSlotLocked says whether the hold has a slot no connection uses.
func (a *account) freeSlotLocked(now time.Time) bool {
	return now.Before(a.slotsUntil) && int64(len(a.sessions))+a.slotClaims < a.slots
}

// slotsIdleLocked says whether the account holds and awaits no slots, so
// it may be forgotten.
func (a *account) slotsIdleLocked() bool {
	return a.slots == 0 && !a.slotsDirty && a.slotClaims == 0 && a.slotWaiters == 0 && a.graceWaiters == 0
}

// slotGateLocked applies max_concurrency to a new connection. The caller
// holds m.mu and a.mu; both are released while the store is asked for a
// slot and held again on return. A refusal for the cap prepares w to wait.
func (a *account) slotGateLocked(now time.Time, w *slotWait) *refusal {
	limit := a.user.Limits.MaxConcurrency
	if limit <= 0 {
		return nil
	}
	if int64(len(a.sessions)) >= limit {
		return w.refusedLocked(a, limit, refuse(subgate.ReasonConcurrency, "at most %d concurrent connections", limit))
	}
	if a.freeSlotLocked(now) {
		return nil
	}
	if !w.mayAskStore() {
		return w.refusedLocked(a, limit, nodesFull(limit))
	}
	a.slotWaiters++
	a.mu.Unlock()
	a.m.mu.Unlock()
	r := a.claimSlot(limit)
	a.m.mu.Lock()
	a.mu.Lock()
	a.slotWaiters--
	if r != nil {
		if r.Code == subgate.ReasonConcurrency {
			w.asks++
			return w.refusedLocked(a, limit, r)
		}
		return r
	}
	a.slotClaims-- // the caller registers the connection in its place
	if limit := a.user.Limits.MaxConcurrency; limit > 0 && int64(len(a.sessions)) >= limit {
		return w.refusedLocked(a, limit, refuse(subgate.ReasonConcurrency, "at most %d concurrent connections", limit))
	}
	return nil
}

func nodesFull(limit int64) *refusal {
	return refuse(subgate.ReasonConcurrency, "at most %d concurrent connections across all nodes", limit)
}

// claimSlot takes a free slot of the hold, or one more from the store.
func (a *account) claimSlot(limit int64) *refusal {
	queued := time.Now()
	g := a.m.g
	// One deadline for the wait and the request: a slot sync stuck on the
	// store holds slotMu for its own, longer one.
	ctx, cancel := contextWithTimeout(g.cfg.StoreTimeout)
	defer cancel()
	if !lockWithin(ctx, &a.slotMu) {
		return slotsUnavailable()
	}
	defer a.slotMu.Unlock()
	now := g.now()
	a.mu.Lock()
	if a.freeSlotLocked(now) {
		a.slotClaims++
		a.mu.Unlock()
		return nil
	}
	// A request that failed while this one queued behind it gives its
	// answer: against a database that hangs, each asking in turn would
	// keep the connections queued for a timeout each.
	if a.slotFailed.After(queued) {
		a.mu.Unlock()
		return slotsUnavailable()
	}
	if !now.Before(a.slotsUntil) {
		a.slots = 0 // expired in the store too, which drops it
	}
	a.mu.Unlock()
	n, err := g.cfg.Store.AcquireSlots(ctx, subgate.SlotRequest{
		Node: g.cfg.Node, SubUserID: a.id, Want: 1, Cap: limit, TTL: g.cfg.LeaseTTL, Now: now,
	})
	if err != nil {
		a.slotFailed = time.Now()
		g.log.Warn("connection slot request failed", "subuser_id", a.id, "err", err)
		// The store may have granted it all the same (a lost answer, a
		// commit after the deadline): the next sync gives back what no
		// connection uses.
		a.mu.Lock()
		a.slotsDirty = true
		a.mu.Unlock()
		return slotsUnavailable()
	}
	if n == 0 {
		return nodesFull(limit)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.slots += n
	a.slotsUntil = now.Add(g.cfg.LeaseTTL)
	a.slotClaims++
	return nil
}

func slotsUnavailable() *refusal {
	return refuse(reasonUnavailable, "cannot count the connections open on other nodes")
}

// slotSync is one account's part of a SlotSync.
type slotSync struct {
	a      *account
	locked bool // slotMu held: the hold was shrunk to the target
}

// syncSlots shrinks the node's holds to the connections using them and
// renews them when due; final releases every hold (at shutdown).
func (m *meter) syncSlots(ctx context.Context, final bool) error {
	g := m.g
	now := g.now()
	ttl := g.cfg.LeaseTTL
	var parts []slotSync
	var holds []subgate.SlotHold
	m.mu.Lock()
	for _, a := range m.accounts {
		a.mu.Lock()
		if a.slots == 0 && !a.slotsDirty {
			a.mu.Unlock()
			continue
		}
		if !a.slotMu.TryLock() {
			// A store request is in flight: renew without shrinking, or
			// the grant it is getting would be taken back.
			parts = append(parts, slotSync{a: a})
			holds = append(holds, subgate.SlotHold{SubUserID: a.id, Slots: math.MaxInt64})
			a.mu.Unlock()
			continue
		}
		target := min(a.slots, int64(len(a.sessions))+a.slotClaims)
		if final || a.user.Limits.MaxConcurrency <= 0 {
			target = 0
		}
		due := a.slotsUntil.Sub(now) < ttl*2/3
		if target == a.slots && !a.slotsDirty && !due {
			a.slotMu.Unlock()
			a.mu.Unlock()
			continue
		}
		if target < a.slots {
			a.slots, a.slotsDirty = target, true
		}
		parts = append(parts, slotSync{a: a, locked: true})
		holds = append(holds, subgate.SlotHold{SubUserID: a.id, Slots: target})
		a.mu.Unlock()
	}
	m.mu.Unlock()
	if len(holds) == 0 {
		return nil
	}
	stored, err := g.cfg.Store.SyncSlots(ctx, subgate.SlotSync{Node: g.cfg.Node, Holds: holds, TTL: ttl, Now: now})
	held := make(map[int64]int64, len(stored))
	for _, h := range stored {
		held[h.SubUserID] = h.Slots
	}
	for _, p := range parts {
		a := p.a
		if !p.locked {
			// Renewed while a request was in flight: without knowing, the
			// node would take its hold for lapsed once the expiry it last
			// set passed, while the store still counts it. A grant
			// committing after this renewal may set an earlier expiry in
			// the store, by at most that request's duration.
			if err == nil && held[a.id] > 0 {
				a.mu.Lock()
				if a.slots > 0 && a.slotsUntil.Before(now.Add(ttl)) {
					a.slotsUntil = now.Add(ttl)
				}
				a.mu.Unlock()
			}
			continue
		}
		a.mu.Lock()
		if err == nil {
			a.slots = min(a.slots, held[a.id])
			a.slotsDirty = false
			if a.slots > 0 {
				a.slotsUntil = now.Add(ttl)
			}
		}
		a.mu.Unlock()
		a.slotMu.Unlock()
	}
	return err
}

// runSlotSync syncs the node's slot holds every FlushInterval.
func (m *meter) runSlotSync(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(m.g.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := m.syncSlots(ctx, false); err != nil {
			m.g.log.Warn("connection slot sync failed; will retry", "err", err)
		}
		cancel()
	}
}
