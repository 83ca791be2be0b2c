package gateway_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// lostGrantStore commits the first slot request after arm is set but
// answers it with an error, as when the answer to a committed transaction
// is lost or comes after the caller gave up.
type lostGrantStore struct {
	subgate.Store
	arm  atomic.Bool
	lost atomic.Int64
}

func (s *lostGrantStore) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	n, err := s.Store.AcquireSlots(ctx, r)
	if err == nil && s.arm.CompareAndSwap(true, false) {
		s.lost.Add(n)
		return 0, errors.New("connection reset while reading the answer")
	}
	return n, err
}

// A slot the store granted in a request the node saw fail goes back to the
// store at the next slot sync, rather than standing in for a connection
// until the hold expires (LeaseTTL): at max_concurrency 1 that would lock
// the sub-user out for a minute.
func TestSlotGrantedInAFailedRequestGoesBack(t *testing.T) {
	st := &lostGrantStore{}
	e := newEnv(t, func(c *gateway.Config) {
		st.Store = c.Store
		c.Store = st
	})
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 1 })
	target := echoOrigin(t)
	proxy := e.gw.ProxyAddr().String()
	st.arm.Store(true)
	if c, code := tryTunnel(t, proxy, "alice", target); c != nil || code != "unavailable" {
		t.Fatalf("connection whose slot request failed: admitted or refused with %q", code)
	}
	if st.lost.Load() != 1 {
		t.Fatalf("the failed request granted %d slots, want 1", st.lost.Load())
	}
	waitFor(t, patience, "the slot of the failed request to go back to the store", func() bool {
		return heldSlots(t, e, u.ID) == 0
	})
	if _, code := tryTunnel(t, proxy, "alice", target); code != "" {
		t.Fatalf("connection after the slot went back: %s", code)
	}
}
