package gateway_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// hangingEgressStore answers egress admissions with an error while down;
// the first such call hangs until released, as against a database that
// stopped answering.
type hangingEgressStore struct {
	subgate.Store
	down    atomic.Bool
	hung    chan struct{} // closed when the first call hangs
	release chan struct{}
	asked   atomic.Int64 // calls while down
}

func (s *hangingEgressStore) AdmitEgress(ctx context.Context, r subgate.EgressRequest) (subgate.EgressAdmission, error) {
	if !s.down.Load() {
		return s.Store.AdmitEgress(ctx, r)
	}
	if s.asked.Add(1) == 1 {
		close(s.hung)
		<-s.release
	}
	return subgate.EgressAdmission{}, errors.New("database unreachable")
}

// Egress admissions queued behind a store call that failed share its
// answer rather than each asking, and waiting, again.
func TestEgressAdmissionsQueuedBehindAFailureShareIt(t *testing.T) {
	st := &hangingEgressStore{hung: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, atNoon, func(c *gateway.Config) {
		st.Store = c.Store
		c.Store = st
		c.Dialer = &egressDialer{}
	})
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.IPUsageCap = 5 })
	proxy := e.gw.ProxyAddr().String()
	st.down.Store(true)
	const conns = 3
	codes := make(chan string, conns)
	go func() { codes <- connectCode(proxy, "alice-session-s0", e.origin.addr) }()
	select {
	case <-st.hung:
	case <-time.After(patience):
		t.Fatal("no egress admission reached the store")
	}
	for i := 1; i < conns; i++ {
		go func() { codes <- connectCode(proxy, "alice-session-s"+strconv.Itoa(i), e.origin.addr) }()
	}
	waitFor(t, patience, "the other admissions to queue", func() bool { return e.gw.EgressQueued(u.ID) == conns-1 })
	close(st.release)
	for range conns {
		if code := answer(t, codes); code != "unavailable" {
			t.Fatalf("a new egress while the database hangs: %q", code)
		}
	}
	if n := st.asked.Load(); n != 1 {
		t.Fatalf("%d egress admissions asked for calls queued behind one failure, want 1", n)
	}
}
