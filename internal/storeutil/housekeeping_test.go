package storeutil_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate/internal/storeutil"
)

func TestThrottleRunsOncePerPeriod(t *testing.T) {
	var th storeutil.Throttle
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if !th.Due(t0, time.Minute) {
		t.Fatal("first call is not due")
	}
	if th.Due(t0.Add(59*time.Second), time.Minute) {
		t.Fatal("due again within the period")
	}
	if !th.Due(t0.Add(time.Minute), time.Minute) {
		t.Fatal("not due after a period")
	}
}

func TestThrottleOneOfConcurrentCallersWins(t *testing.T) {
	var th storeutil.Throttle
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if th.Due(now, time.Minute) {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d callers won, want 1", n)
	}
}
