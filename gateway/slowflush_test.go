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

// slowFlushStore is the real store with FlushUsage held back while stalled
// (a store that answers slowly), until the test ends or the caller gives up.
type slowFlushStore struct {
	subgate.Store
	stalled atomic.Bool
	waiting atomic.Int64
	done    chan struct{}
	once    sync.Once
}

func (s *slowFlushStore) FlushUsage(ctx context.Context, b subgate.UsageBatch) error {
	if s.stalled.Load() {
		s.waiting.Add(1)
		defer s.waiting.Add(-1)
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Store.FlushUsage(ctx, b)
}

func (s *slowFlushStore) unstall() { s.once.Do(func() { s.stalled.Store(false); close(s.done) }) }

func TestSlowFlushDelaysNeitherCutsNorLogins(t *testing.T) {
	slow := &slowFlushStore{done: make(chan struct{})}
	e := newEnv(t, func(c *gateway.Config) {
		slow.Store = c.Store
		c.Store = slow
	})
	t.Cleanup(slow.unstall)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, _ := holdDownload(t, e, "alice", 1<<20)
	defer c.Close()

	slow.stalled.Store(true)
	waitFor(t, patience, "a flush held by the store", func() bool { return slow.waiting.Load() > 0 })

	disabled := subgate.StatusDisabled
	if _, err := e.svc.UpdateSubUser(context.Background(), admin, u.Hash, subgate.SubUserUpdate{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	// The stalled flush never ends before the test does: the cut and the
	// login below are bounded generously, yet prove neither waits on it.
	cutWithin(t, c, patience)

	e.createUser("bob", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	start := time.Now()
	b, bad := e.connect("bob", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("bob refused: %d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
	}
	b.Close()
	if took := time.Since(start); took > patience {
		t.Fatalf("login took %v while a flush was stalled", took)
	}
}
