package gateway

import "context"

// AccountSeq is the change number of the sub-user snapshot the gateway's
// enforcement holds, and whether it has an account for the sub-user.
func (g *Gateway) AccountSeq(id int64) (int64, bool) {
	m := g.meter
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[id]
	if a == nil {
		return 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.user.Seq, true
}

// SyncSlots runs one slot sync now, as the sync loop does every
// FlushInterval.
func (g *Gateway) SyncSlots(ctx context.Context) error { return g.meter.syncSlots(ctx, false) }

// SlotWaiters is how many admissions of a sub-user are asking the store for
// a slot, or queued to.
func (g *Gateway) SlotWaiters(id int64) int {
	g.meter.mu.Lock()
	a := g.meter.accounts[id]
	g.meter.mu.Unlock()
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.slotWaiters
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
