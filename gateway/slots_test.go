package gateway_test

import (
	"context"
	"database/sql"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// slotCounter wraps a real store and counts slot requests.
type slotCounter struct {
	subgate.Store
	acquires atomic.Int64
}

func (s *slotCounter) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	s.acquires.Add(1)
	return s.Store.AcquireSlots(ctx, r)
}

// heldSlots reads the slots all nodes hold for a sub-user from the SQLite file.
func heldSlots(t *testing.T, e *env, id int64) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.path+"?_pragma=busy_timeout(10000)&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT coalesce(sum(slots), 0) FROM conn_slots WHERE subuser_id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// tryTunnel opens a tunnel or returns the refusal code.
func tryTunnel(t *testing.T, proxy, user, target string) (net.Conn, string) {
	t.Helper()
	c, bad := connectVia(t, proxy, user, testPassword, target)
	if bad != nil {
		return nil, bad.Header.Get("X-Subgate-Error")
	}
	t.Cleanup(func() { c.Close() })
	return c, ""
}

// A node asks the store for a slot only when its hold has none free: a
// connection closed and opened again reuses the slot.
func TestConcurrencySlotsAreReusedWithoutTheStore(t *testing.T) {
	var counter *slotCounter
	e := newEnv(t, func(c *gateway.Config) {
		counter = &slotCounter{Store: c.Store}
		c.Store = counter
		c.FlushInterval = time.Hour // no sync shrinks the hold during the test
	})
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 2 })
	target := echoOrigin(t)
	proxy := e.gw.ProxyAddr().String()
	first, code := tryTunnel(t, proxy, "alice", target)
	if code != "" {
		t.Fatalf("first connection: %s", code)
	}
	if _, code := tryTunnel(t, proxy, "alice", target); code != "" {
		t.Fatalf("second connection: %s", code)
	}
	if _, code := tryTunnel(t, proxy, "alice", target); code != subgate.ReasonConcurrency {
		t.Fatalf("third connection: %q", code)
	}
	if got := counter.acquires.Load(); got != 2 {
		t.Fatalf("%d slot requests for two connections and a refusal, want 2", got)
	}
	first.Close()
	waitFor(t, patience, "the first connection to close", func() bool {
		return metric(t, e, "subgate_gateway_connections_open", "", "") == 1
	})
	if _, code := tryTunnel(t, proxy, "alice", target); code != "" {
		t.Fatalf("a connection after one closed: %s", code)
	}
	if got := counter.acquires.Load(); got != 2 {
		t.Fatalf("%d slot requests, want the freed slot reused", got)
	}
}

// The node gives slots back when connections close, and all of them when
// it shuts down.
func TestConcurrencySlotsReturnToTheStore(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 3 })
	target := echoOrigin(t)
	var open []net.Conn
	for range 3 {
		c, code := tryTunnel(t, e.gw.ProxyAddr().String(), "alice", target)
		if code != "" {
			t.Fatalf("refused: %s", code)
		}
		open = append(open, c)
	}
	if got := heldSlots(t, e, u.ID); got != 3 {
		t.Fatalf("%d slots held for 3 connections", got)
	}
	open[0].Close()
	waitFor(t, patience, "the closed connection's slot to return", func() bool { return heldSlots(t, e, u.ID) == 2 })
	e.restart() // a graceful stop releases the rest
	if got := heldSlots(t, e, u.ID); got != 0 {
		t.Fatalf("%d slots held after a graceful stop", got)
	}
}

// Two nodes on one PostgreSQL database share max_concurrency: racing
// connections through both get exactly the cap, a slot freed on one node
// serves the other, and a dead node's slots return when its hold expires.
func TestConcurrencyCapSharedByTwoNodes(t *testing.T) {
	s := sharedPG(t)
	st := s.store
	ctx := context.Background()
	const limit = 3
	u := s.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits = subgate.Limits{MaxConcurrency: limit} })
	target := echoOrigin(t)
	nodes := s.nodeAddrs(2)

	const racers = 10
	conns := make([]net.Conn, racers)
	codes := make([]string, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() { conns[i], codes[i] = tryTunnel(t, nodes[i%2], "alice", target) })
	}
	wg.Wait()
	var admitted []int
	for i, code := range codes {
		switch code {
		case "":
			admitted = append(admitted, i)
		case subgate.ReasonConcurrency:
		default:
			t.Fatalf("racer %d: %q", i, code)
		}
	}
	if len(admitted) != limit {
		t.Fatalf("%d of %d racing connections admitted across two nodes, want exactly %d (%v)", len(admitted), racers, limit, codes)
	}
	// Close one; the other node gets its slot once the first gives it back.
	closed := admitted[0]
	conns[closed].Close()
	other := nodes[(closed+1)%2]
	var c net.Conn
	waitFor(t, patience, "the freed slot on the other node", func() bool {
		var code string
		c, code = tryTunnel(t, other, "alice", target)
		return code == ""
	})
	if _, code := tryTunnel(t, nodes[closed%2], "alice", target); code != subgate.ReasonConcurrency {
		t.Fatalf("a fourth connection: %q", code)
	}

	// A node that died holding a slot: nobody else gets it until its hold
	// expires.
	c.Close()
	waitFor(t, patience, "the slot to return", func() bool {
		n, err := st.AcquireSlots(ctx, subgate.SlotRequest{Node: "dead", SubUserID: u.ID, Want: 1, Cap: limit,
			TTL: 2 * time.Second, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
	if _, code := tryTunnel(t, nodes[0], "alice", target); code != subgate.ReasonConcurrency {
		t.Fatalf("a connection while a dead node holds the last slot: %q", code)
	}
	waitFor(t, patience, "the dead node's slot to expire", func() bool {
		_, code := tryTunnel(t, nodes[0], "alice", target)
		return code == ""
	})
}
