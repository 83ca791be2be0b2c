package gateway_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// outageStore is the real store with FlushUsage failing while down (the
// database unreachable for flushes); it records granted leases and the
// batches applied.
type outageStore struct {
	subgate.Store
	down     atomic.Bool
	mu       sync.Mutex
	grants   []time.Time // Now of each lease request that got bytes
	applied  []subgate.UsageBatch
	attempts int
}

func (s *outageStore) AcquireLease(ctx context.Context, r subgate.LeaseRequest) (int64, error) {
	n, err := s.Store.AcquireLease(ctx, r)
	if err == nil && n > 0 {
		s.mu.Lock()
		s.grants = append(s.grants, r.Now)
		s.mu.Unlock()
	}
	return n, err
}

func (s *outageStore) FlushUsage(ctx context.Context, b subgate.UsageBatch) error {
	s.mu.Lock()
	s.attempts++
	s.mu.Unlock()
	if s.down.Load() {
		return errors.New("store unreachable")
	}
	err := s.Store.FlushUsage(ctx, b)
	if err == nil {
		s.mu.Lock()
		s.applied = append(s.applied, b)
		s.mu.Unlock()
	}
	return err
}

func TestLeaseExpiresLocallyWhileFlushesFail(t *testing.T) {
	const ttl = time.Second
	out := &outageStore{}
	e := newEnv(t, func(c *gateway.Config) {
		out.Store = c.Store
		c.Store = out
		c.LeaseTTL = ttl
		c.FlushInterval = 100 * time.Millisecond
	})
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatal("refused")
	}
	defer c.Close()
	cc := &countingConn{Conn: c}
	resp, sent := getOver(t, cc, e.origin.addr, "/stream?pace=1")
	go io.Copy(io.Discard, resp.Body)
	waitFor(t, patience, "the download to start", func() bool { return cc.read.Load() > 256<<10 })

	down := time.Now()
	out.down.Store(true)
	waitFor(t, patience, "failed flushes", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return out.attempts >= 3
	})
	// The lease (a 64 MB slice of the balance) would last this paced
	// download far longer than the bound below: a grant within it comes
	// from the lease expiring locally, not from the lease running low.
	regranted := func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		for _, at := range out.grants {
			if at.After(down) {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(ttl + 4*time.Second)
	for !regranted() {
		if time.Now().After(deadline) {
			t.Fatal("the node kept spending a lease the store let expire instead of asking for a new one")
		}
		time.Sleep(10 * time.Millisecond)
	}
	readAtExpiry := cc.read.Load()
	if n := e.gw.QueuedBatches(); n > 2 {
		t.Fatalf("%d batches queued during the outage, want at most 2", n)
	}

	up := time.Now()
	out.down.Store(false)
	waitFor(t, patience, "a flush after the outage", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return len(out.applied) > 0 && out.applied[len(out.applied)-1].Now.After(up)
	})
	out.mu.Lock()
	for _, b := range out.applied {
		if b.Now.Before(down) || b.Now.After(up) {
			continue
		}
		t.Errorf("batch %s applied after the outage carries Now %v from before it: leases renewed from a stale time", b.ID, b.Now)
	}
	out.mu.Unlock()
	waitFor(t, patience, "the download to go on with the new lease", func() bool { return cc.read.Load() > readAtExpiry })

	c.Close()
	// Every metered byte is charged exactly once, merged batches included.
	metered := func() int64 {
		return int64(metric(t, e, "subgate_gateway_bytes_total", "direction", "up") +
			metric(t, e, "subgate_gateway_bytes_total", "direction", "down"))
	}
	waitFor(t, patience, "the tunnel to end", func() bool { return metric(t, e, "subgate_gateway_connections_open", "", "") == 0 })
	e.flush()
	if used, want := e.user(u.ID).TotalUsed(), metered(); used != want || want < int64(sent)+cc.read.Load() {
		t.Fatalf("used %d, metered %d, crossed %d", used, want, int64(sent)+cc.read.Load())
	}
}
