package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// admitCounter wraps a real store and counts the egress admissions the
// gateway asks it for.
type admitCounter struct {
	subgate.Store
	calls atomic.Int64
}

func (s *admitCounter) AdmitEgress(ctx context.Context, r subgate.EgressRequest) (subgate.EgressAdmission, error) {
	s.calls.Add(1)
	return s.Store.AdmitEgress(ctx, r)
}

// countAdmissions makes the gateway's store an admitCounter.
func countAdmissions(counter **admitCounter) envOption {
	return func(c *gateway.Config) {
		*counter = &admitCounter{Store: c.Store}
		c.Store = *counter
	}
}

// restartWith is env.restart with options for the new gateway.
func restartWith(e *env, opts ...envOption) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := e.gw.Shutdown(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.store.Close()
	e.openStore()
	e.startGateway(opts...)
}

// egressOutcome connects as user and says what became of the egress: ""
// when admitted, otherwise the refusal code.
func egressOutcome(t *testing.T, proxy, user, target string) string {
	t.Helper()
	return outcome(connectVia(t, proxy, user, testPassword, target))
}

// After a restart with the cap full, an egress used earlier in the day is
// admitted again and a new one is refused; the node asks the store once to
// learn the day's keys and then only about keys it has not seen.
func TestIPUsageCapKnowsTheDaysKeysAfterRestart(t *testing.T) {
	var counter *admitCounter
	dial := func(c *gateway.Config) { c.Dialer = &egressDialer{} }
	e := newEnv(t, atNoon, dial) // the day window must not turn
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.IPUsageCap = 2 })
	proxy := func() string { return e.gw.ProxyAddr().String() }
	for user, want := range map[string]string{"alice-session-one": "", "alice-session-two": ""} {
		if got := egressOutcome(t, proxy(), user, e.origin.addr); got != want {
			t.Fatalf("%s before the restart: %q", user, got)
		}
	}
	if got := egressOutcome(t, proxy(), "alice-session-three", e.origin.addr); got != subgate.ReasonIPCap {
		t.Fatalf("a third egress under a cap of 2: %q", got)
	}

	restartWith(e, dial, countAdmissions(&counter))
	steps := []struct {
		user, want string
		calls      int64 // store admissions so far
	}{
		{"alice-session-one", "", 1},                    // loads the day's keys
		{"alice-session-two", "", 1},                    // known from the load
		{"alice-session-three", subgate.ReasonIPCap, 2}, // new: the store refuses
		{"alice-session-three", subgate.ReasonIPCap, 2}, // refusal remembered
		{"alice-session-one", "", 2},
		{"alice-session-four", subgate.ReasonIPCap, 3},
	}
	for i, s := range steps {
		if got := egressOutcome(t, proxy(), s.user, e.origin.addr); got != s.want {
			t.Fatalf("step %d, %s after the restart: %q, want %q", i, s.user, got, s.want)
		}
		if got := counter.calls.Load(); got != s.calls {
			t.Fatalf("step %d, %s: %d store admissions, want %d", i, s.user, got, s.calls)
		}
	}

	// Raising the cap forgets the refusals: the store admits the key now.
	raised := subgate.Limits{IPUsageCap: 3}
	if _, err := e.svc.UpdateSubUser(context.Background(), admin, u.Hash, subgate.SubUserUpdate{Limits: &raised}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, patience, "the raised cap to admit a third egress", func() bool {
		return egressOutcome(t, proxy(), "alice-session-three", e.origin.addr) == ""
	})
}

// Two nodes on one PostgreSQL database share one cap: each learns the keys
// the other used, and new keys racing through both are admitted exactly up
// to the cap.
func TestIPUsageCapSharedByTwoNodes(t *testing.T) {
	s := sharedPG(t)
	const limit = 3
	for _, name := range []string{"alice", "bob"} {
		s.createUser(name, map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits = subgate.Limits{IPUsageCap: limit} })
	}
	o := newOrigin(t)
	nodes := s.nodeAddrs(2, atNoon, func(c *gateway.Config) { c.Dialer = &egressDialer{} })

	steps := []struct {
		node       int
		user, want string
	}{
		{0, "alice-session-a", ""},
		{1, "alice-session-b", ""},
		{0, "alice-session-b", ""}, // node 0 has not seen b: the store knows it
		{1, "alice-session-c", ""},
		{0, "alice-session-d", subgate.ReasonIPCap},
		{1, "alice-session-d", subgate.ReasonIPCap},
		{1, "alice-session-a", ""},
		{0, "alice-session-c", ""},
	}
	for i, s := range steps {
		if got := egressOutcome(t, nodes[s.node], s.user, o.addr); got != s.want {
			t.Fatalf("step %d, %s through node %d: %q, want %q", i, s.user, s.node, got, s.want)
		}
	}

	// Ten new egresses at once, through both nodes: exactly the cap gets in.
	const racers = 10
	outcomes := make([]string, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			outcomes[i] = egressOutcome(t, nodes[i%2], fmt.Sprintf("bob-session-r%d", i), o.addr)
		})
	}
	wg.Wait()
	admitted := 0
	for i, got := range outcomes {
		switch got {
		case "":
			admitted++
		case subgate.ReasonIPCap:
		default:
			t.Fatalf("racer %d: %q", i, got)
		}
	}
	if admitted != limit {
		t.Fatalf("%d of %d racing new egresses admitted across two nodes, want exactly %d (%v)", admitted, racers, limit, outcomes)
	}
}

// failingStore fails egress admissions and slot requests while down is set.
type failingStore struct {
	subgate.Store
	down atomic.Bool
}

func (s *failingStore) AdmitEgress(ctx context.Context, r subgate.EgressRequest) (subgate.EgressAdmission, error) {
	if s.down.Load() {
		return subgate.EgressAdmission{}, errors.New("database unreachable")
	}
	return s.Store.AdmitEgress(ctx, r)
}

func (s *failingStore) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	if s.down.Load() {
		return 0, errors.New("database unreachable")
	}
	return s.Store.AcquireSlots(ctx, r)
}

// With the database unreachable, what a node knows still passes: a known
// egress key and a free held slot; a new key or a new slot is refused as
// unavailable, and admitted again once the database is back.
func TestCapsWithTheStoreDown(t *testing.T) {
	var st *failingStore
	e := newEnv(t, atNoon, func(c *gateway.Config) {
		st = &failingStore{Store: c.Store}
		c.Store = st
		c.Dialer = &egressDialer{}
		c.FlushInterval = time.Hour // no sync shrinks the slot hold during the test
	})
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) {
		c.Limits.IPUsageCap = 3
		c.Limits.MaxConcurrency = 3
	})
	proxy := e.gw.ProxyAddr().String()
	if got := egressOutcome(t, proxy, "alice-session-one", e.origin.addr); got != "" {
		t.Fatalf("with the database up: %q", got)
	}
	waitFor(t, patience, "the connection to close", func() bool {
		return metric(t, e, "subgate_gateway_connections_open", "", "") == 0
	})
	st.down.Store(true)
	if got := egressOutcome(t, proxy, "alice-session-one", e.origin.addr); got != "" {
		t.Fatalf("a known key on a held slot with the database down: %q", got)
	}
	_, bad := connectVia(t, proxy, "alice-session-two", testPassword, e.origin.addr)
	if bad == nil || bad.StatusCode != http.StatusServiceUnavailable || bad.Header.Get("X-Subgate-Error") != "unavailable" {
		t.Fatalf("a new key with the database down: %+v", bad)
	}
	waitFor(t, patience, "the connections to close", func() bool {
		return metric(t, e, "subgate_gateway_connections_open", "", "") == 0
	})
	held, code := tryTunnel(t, proxy, "alice-session-one", e.origin.addr)
	if code != "" {
		t.Fatalf("a known key on the held slot: %q", code)
	}
	if got := egressOutcome(t, proxy, "alice-session-one", e.origin.addr); got != "unavailable" {
		t.Fatalf("a second connection needing a new slot with the database down: %q", got)
	}
	held.Close()
	st.down.Store(false)
	if got := egressOutcome(t, proxy, "alice-session-two", e.origin.addr); got != "" {
		t.Fatalf("a new key with the database back: %q", got)
	}
}
