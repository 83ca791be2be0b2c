package gateway_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// flakyStore is the real store with FlushUsage failing on demand after it
// was applied (the worst case: the commit happened, the answer was lost).
type flakyStore struct {
	subgate.Store
	mu      sync.Mutex
	failing int
	ids     []string
}

func (s *flakyStore) FlushUsage(ctx context.Context, b subgate.UsageBatch) error {
	err := s.Store.FlushUsage(ctx, b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, b.ID)
	if err == nil && s.failing > 0 && len(b.Items) > 0 {
		s.failing--
		return errors.New("connection lost after commit")
	}
	return err
}

func TestFailedFlushIsRetriedWithTheSameBatch(t *testing.T) {
	var flaky *flakyStore
	e := newEnv(t, func(c *gateway.Config) {
		flaky = &flakyStore{Store: c.Store, failing: 2}
		c.Store = flaky
	})
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatal("refused")
	}
	cc := &countingConn{Conn: c}
	resp, sent := getOver(t, cc, e.origin.addr, "/bytes?n=300000")
	io.Copy(io.Discard, resp.Body)
	c.Close()
	crossed := connectBytes("alice", testPassword, e.origin.addr) + int64(sent) + cc.read.Load()
	waitFor(t, patience, "usage after retries", func() bool {
		flaky.mu.Lock()
		defer flaky.mu.Unlock()
		return flaky.failing == 0 && e.user(u.ID).TotalUsed() >= crossed
	})
	// Once the tunnel has ended, one more flush carries anything left.
	waitFor(t, patience, "the tunnel to end", func() bool { return metric(t, e, "subgate_gateway_connections_open", "", "") == 0 })
	e.flush()
	if used := e.user(u.ID).TotalUsed(); used != crossed {
		t.Fatalf("used %d, crossed %d: a retried batch was counted twice or lost", used, crossed)
	}
	flaky.mu.Lock()
	defer flaky.mu.Unlock()
	repeated := 0
	for i := 1; i < len(flaky.ids); i++ {
		if flaky.ids[i] == flaky.ids[i-1] {
			repeated++
		}
	}
	if repeated < 2 {
		t.Fatalf("failed batches were not resent with their ids: %v", flaky.ids)
	}
}
