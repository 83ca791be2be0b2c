package gateway_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// stalledSlotStore holds a slot request while armed, until released.
type stalledSlotStore struct {
	subgate.Store
	arm     atomic.Bool
	stalled chan struct{} // closed when a request is held
	release chan struct{}
	once    sync.Once
}

func (s *stalledSlotStore) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	if s.arm.CompareAndSwap(true, false) {
		s.once.Do(func() { close(s.stalled) })
		<-s.release
	}
	return s.Store.AcquireSlots(ctx, r)
}

// A node renews its hold while a slot request is in flight; it must know
// the hold was renewed. Otherwise, once the hold it last renewed itself has
// lapsed, it takes its live hold in the store for gone: it stops renewing
// it, and the store counts it against the node's own next connection, so
// the sub-user is refused a slot its node holds and nobody uses.
func TestHoldRenewedDuringASlotRequestStaysUsable(t *testing.T) {
	noon := time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	var offset atomic.Int64
	clock := func() time.Time { return noon.Add(time.Duration(offset.Load())) }
	st := &stalledSlotStore{stalled: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(c *gateway.Config) {
		st.Store = c.Store
		c.Store = st
		c.Now = clock
		c.FlushInterval = time.Hour // the test runs the slot syncs
	})
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 2 })
	target := echoOrigin(t)
	proxy := e.gw.ProxyAddr().String()
	first, code := tryTunnel(t, proxy, "alice", target)
	if code != "" {
		t.Fatalf("first connection: %s", code)
	}
	// Another node holds the other slot throughout.
	if n, err := e.store.AcquireSlots(context.Background(), subgate.SlotRequest{Node: "other", SubUserID: u.ID, Want: 1, Cap: 2,
		TTL: time.Hour, Now: clock()}); err != nil || n != 1 {
		t.Fatalf("the other node's slot: %d, %v", n, err)
	}

	// A second connection's slot request stalls while the clock passes the
	// hold's first expiry (LeaseTTL); slot syncs renew the hold meanwhile.
	st.arm.Store(true)
	second := make(chan string, 1)
	go func() { second <- connectCode(proxy, "alice", target) }()
	select {
	case <-st.stalled:
	case <-time.After(patience):
		t.Fatal("the second connection never asked the store for a slot")
	}
	for _, step := range []time.Duration{30 * time.Second, 40 * time.Second} {
		offset.Add(int64(step))
		if err := e.gw.SyncSlots(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	close(st.release)
	if code := answer(t, second); code != subgate.ReasonConcurrency {
		t.Fatalf("second connection with both slots held: %q", code)
	}
	if err := e.gw.SyncSlots(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The first connection ends: its slot serves the next one.
	first.Close()
	waitFor(t, patience, "the first connection to close", func() bool {
		return metric(t, e, "subgate_gateway_connections_open", "", "") == 0
	})
	if _, code := tryTunnel(t, proxy, "alice", target); code != "" {
		t.Fatalf("a connection after the only one closed: %s", code)
	}
}
