package storeutil

import (
	"sync/atomic"
	"time"
)

const (
	// HousekeepingEvery bounds how often one store sweeps and prunes.
	HousekeepingEvery = time.Minute
	// SweepBatch bounds the deleted sub-users one sweep settles.
	SweepBatch = 1000
)

// Throttle lets a periodic job run at most once per period of the times it
// is given (flush times, not the wall clock), even when called concurrently.
type Throttle struct {
	last atomic.Int64 // Unix ns of the last run
}

// Due reports whether the job should run at now, and if so records now as
// its last run: of concurrent callers, one wins.
func (t *Throttle) Due(now time.Time, every time.Duration) bool {
	last := t.last.Load()
	return now.UnixNano()-last >= int64(every) && t.last.CompareAndSwap(last, now.UnixNano())
}
