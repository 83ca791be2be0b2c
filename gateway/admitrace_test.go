package gateway_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// disablingStore disables the sub-user during the first slot request after
// arm is set and
// returns only once the gateway's enforcement has seen it: the change
// arrives while the admission waits on the store.
type disablingStore struct {
	subgate.Store
	e    *env
	gw   func() *gateway.Gateway
	once sync.Once
	ran  bool
	arm  atomic.Bool
}

func (s *disablingStore) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	if !s.arm.Load() {
		return s.Store.AcquireSlots(ctx, r)
	}
	s.once.Do(func() {
		s.ran = true
		ref := strconv.FormatInt(r.SubUserID, 10)
		if _, err := s.e.svc.SetStatus(context.Background(), admin, ref, subgate.StatusDisabled); err != nil {
			s.e.t.Error(err)
			return
		}
		waitFor(s.e.t.(*testing.T), patience, "the gateway to see the disable", func() bool {
			st, ok := s.gw().AccountStatus(r.SubUserID)
			return ok && st == subgate.StatusDisabled
		})
	})
	return s.Store.AcquireSlots(ctx, r)
}

// A connection whose admission is waiting on the store when its sub-user
// is disabled is refused: the cut of live sessions cannot reach it yet.
func TestAdmissionSeesChangesMadeWhileItWaitsOnTheStore(t *testing.T) {
	var e *env
	var st *disablingStore
	e = newEnv(t, func(c *gateway.Config) {
		st = &disablingStore{Store: c.Store, e: e, gw: func() *gateway.Gateway { return e.gw }}
		c.Store = st
	})
	st.e = e
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 2 })
	target := echoOrigin(t)
	// A live tunnel first: the node then holds a lease with bytes to spend.
	if _, code := tryTunnel(t, e.gw.ProxyAddr().String(), "alice", target); code != "" {
		t.Fatalf("first connection: %s", code)
	}
	st.arm.Store(true)
	c, code := tryTunnel(t, e.gw.ProxyAddr().String(), "alice", target)
	if c != nil || code != subgate.ReasonDisabled {
		t.Fatalf("connection admitted or refused with %q while its sub-user was disabled during admission", code)
	}
	if !st.ran {
		t.Fatal("the admission never asked the store for a slot")
	}
}
