package gateway

import (
	"context"
	"sync"
	"time"
)

// lockWithin takes mu unless ctx ends first. Background work (a flush, a
// slot sync) holds its lock across a store request with a deadline of its
// own; a connection waiting for that lock must still get its answer within
// its own deadline when the store hangs.
func lockWithin(ctx context.Context, mu *sync.Mutex) bool {
	if mu.TryLock() {
		return true
	}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for !mu.TryLock() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}
