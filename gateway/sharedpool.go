package gateway

import (
	"context"
	"strconv"
	"time"
)

// A shared sub-user's pool can be fully leased by other sub-users and nodes
// while it still holds bytes: those leases are about to be used (and
// flushed) or released. Refusing then would strand them, so a connection
// that finds nothing to lease waits for the pool to settle, for at most
// poolSettle, while the store still shows bytes for it.
const (
	poolSettle     = 3 * time.Second
	poolSettlePoll = 50 * time.Millisecond
)

// poolBusy reports whether s should wait and ask again: its sub-user is
// shared and the pool, less what this node spent, still holds bytes that it
// may use. It sleeps one poll interval before answering true.
func (s *session) poolBusy(until *time.Time) bool {
	a := s.acct
	g := a.m.g
	a.mu.Lock()
	shared := a.user.Shared()
	a.mu.Unlock()
	if !shared {
		return false
	}
	now := time.Now()
	if until.IsZero() {
		*until = now.Add(poolSettle)
	}
	if now.After(*until) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	fresh, err := g.cfg.Store.SubUser(ctx, 0, strconv.FormatInt(a.id, 10))
	if err != nil || !fresh.Shared() {
		return false
	}
	at := g.now()
	fresh.Usage = fresh.Usage.At(g.cfg.Windows, at)
	addPending(fresh, a.spentHere())
	if fresh.Check(s.product, at, fresh.Usage) != nil {
		return false
	}
	time.Sleep(poolSettlePoll)
	for _, b := range s.chain {
		b.dryUntil.Store(0)
	}
	return true
}
