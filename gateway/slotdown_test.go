package gateway_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// hangingSlotStore answers slot requests with an error while down; the
// first such request hangs until released, as against a database that
// stopped answering.
type hangingSlotStore struct {
	subgate.Store
	down    atomic.Bool
	hung    chan struct{} // closed when the first request hangs
	release chan struct{}
	asked   atomic.Int64 // requests while down
}

func (s *hangingSlotStore) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	if !s.down.Load() {
		return s.Store.AcquireSlots(ctx, r)
	}
	if s.asked.Add(1) == 1 {
		close(s.hung)
		<-s.release
	}
	return 0, errors.New("database unreachable")
}

// Connections queued behind a slot request that failed share its answer
// rather than each asking, and waiting, again: against a database that
// hangs, the k-th connection would otherwise be refused only after k
// request timeouts, and connections would pile up meanwhile.
func TestSlotRequestsQueuedBehindAFailureShareIt(t *testing.T) {
	st := &hangingSlotStore{hung: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(c *gateway.Config) {
		st.Store = c.Store
		c.Store = st
	})
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 5 })
	target := echoOrigin(t)
	proxy := e.gw.ProxyAddr().String()
	st.down.Store(true)
	const conns = 3
	codes := make(chan string, conns)
	go func() { codes <- connectCode(proxy, "alice", target) }()
	select {
	case <-st.hung:
	case <-time.After(patience):
		t.Fatal("no slot request reached the store")
	}
	for range conns - 1 {
		go func() { codes <- connectCode(proxy, "alice", target) }()
	}
	waitFor(t, patience, "the other connections to queue for a slot", func() bool { return e.gw.SlotWaiters(u.ID) == conns })
	close(st.release)
	for range conns {
		if code := answer(t, codes); code != "unavailable" {
			t.Fatalf("a connection while the database hangs: %q", code)
		}
	}
	if n := st.asked.Load(); n != 1 {
		t.Fatalf("%d slot requests for connections queued behind one failure, want 1", n)
	}
}
