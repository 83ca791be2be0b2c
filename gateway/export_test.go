package gateway

import (
	"context"
	"time"

	"github.com/subgate/subgate"
)

// ConcurrencyGrace is how long a connection at the cap waits by default.
const ConcurrencyGrace = concurrencyGrace

// SetConcurrencyGrace changes the grace of connections not yet accepted.
// It takes the lock the accept loop takes before serving a connection, so
// the handlers see the new value.
func (g *Gateway) SetConcurrencyGrace(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.grace = d
}

// SyncSlots runs one slot sync now, as the sync loop does every
// FlushInterval.
func (g *Gateway) SyncSlots(ctx context.Context) error { return g.meter.syncSlots(ctx, false) }

// QueuedBatches is how many usage batches wait for the store.
func (g *Gateway) QueuedBatches() int {
	g.flusher.mu.Lock()
	defer g.flusher.mu.Unlock()
	return len(g.flusher.queue)
}

// readAccount reads from a sub-user's account under the locks enforcement
// takes, in its order, and says whether the gateway has an account for it.
func readAccount[T any](g *Gateway, id int64, read func(*account) T) (T, bool) {
	m := g.meter
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[id]
	if a == nil {
		var zero T
		return zero, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return read(a), true
}

// AccountStatus is the status the gateway's enforcement holds for a
// sub-user with live or pending sessions, and whether it has an account.
func (g *Gateway) AccountStatus(id int64) (subgate.Status, bool) {
	return readAccount(g, id, func(a *account) subgate.Status { return a.user.Status })
}

// AccountSeq is the change number of the sub-user snapshot the gateway's
// enforcement holds, and whether it has an account for the sub-user.
func (g *Gateway) AccountSeq(id int64) (int64, bool) {
	return readAccount(g, id, func(a *account) int64 { return a.user.Seq })
}

// GraceWaiters is how many connections of a sub-user wait for a slot.
func (g *Gateway) GraceWaiters(id int64) int {
	n, _ := readAccount(g, id, func(a *account) int { return a.graceWaiters })
	return n
}

// SlotWaiters is how many admissions of a sub-user are asking the store for
// a slot, or queued to.
func (g *Gateway) SlotWaiters(id int64) int {
	n, _ := readAccount(g, id, func(a *account) int { return a.slotWaiters })
	return n
}

// EgressQueued is how many egress admissions of a sub-user wait for
// another one's store call to end.
func (g *Gateway) EgressQueued(id int64) int {
	g.meter.mu.Lock()
	e := g.meter.egress[id]
	g.meter.mu.Unlock()
	if e == nil {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.queued
}
