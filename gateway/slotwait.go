package gateway

import "time"

// A client running N threads of sequential requests on fresh connections,
// at max_concurrency N, opens each connection right after closing the
// previous one, and the new one often arrives before the gateway has torn
// the old one down. So a connection refused only for max_concurrency first
// waits a short grace for a session of its sub-user to end.

// concurrencyGrace bounds that wait: it covers the teardown of a connection
// the client has already closed, and usually another node's next slot sync
// (every flush interval, 0.5 s by default), yet a client truly over the cap
// hears so within a second.
const concurrencyGrace = 500 * time.Millisecond

// maxGraceWaiters bounds the connections of one sub-user waiting at once
// (the cap bounds them too), so a flood piles up no goroutines or sockets:
// connections beyond it are refused at once.
const maxGraceWaiters = 64

// slotReasks is how many times a waiting connection asks the store again
// for a slot another node may have returned, spread evenly over the grace.
const slotReasks = 2

// slotWait is one admission's wait for a connection slot.
type slotWait struct {
	g     *Gateway
	acct  *account        // waited on; counted in its graceWaiters so it is kept
	start time.Time       // when the wait began
	until time.Time       // when the grace ends
	asks  int             // store requests that found no slot
	wake  <-chan struct{} // closed when acct changes or a session of it ends; nil: no wait
}

// retrying says whether the admission has waited already.
func (w *slotWait) retrying() bool { return w.acct != nil }

// mayAskStore says whether the store may be asked for a slot now: the first
// time at once, then at most slotReasks times within the grace.
func (w *slotWait) mayAskStore() bool {
	if w.asks == 0 {
		return true
	}
	at, ok := w.nextAsk()
	return ok && !time.Now().Before(at)
}

// nextAsk is when the store may be asked again; false when never.
func (w *slotWait) nextAsk() (time.Time, bool) {
	if w.asks == 0 || w.asks > slotReasks || w.acct == nil {
		return time.Time{}, false
	}
	return w.start.Add(w.g.grace * time.Duration(w.asks) / slotReasks), true
}

// refusedLocked prepares the wait after a refusal for max_concurrency and
// returns r. No wait is prepared once the grace has ended, or when too many
// connections of the account wait already. The caller holds a.mu.
func (w *slotWait) refusedLocked(a *account, limit int64, r *refusal) *refusal {
	now := time.Now()
	switch {
	case w.acct == nil:
		if int64(a.graceWaiters) >= min(limit, maxGraceWaiters) {
			return r
		}
		a.graceWaiters++
		w.acct, w.start, w.until = a, now, now.Add(w.g.grace)
	case w.acct != a || !now.Before(w.until):
		return r
	}
	if a.wake == nil {
		a.wake = make(chan struct{})
	}
	w.wake = a.wake
	return r
}

// wait blocks until the account wakes it, a store re-ask is due or the
// grace ends; false when the gateway is shutting down.
func (w *slotWait) wait() bool {
	next := w.until
	if at, ok := w.nextAsk(); ok && at.Before(next) {
		next = at
	}
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	select {
	case <-w.wake:
	case <-t.C:
	case <-w.g.draining:
	}
	w.wake = nil
	select {
	case <-w.g.draining: // a session cut by the shutdown also wakes waiters
		return false
	default:
		return true
	}
}

// leave ends the wait, letting the account be forgotten when idle.
func (w *slotWait) leave() {
	if a := w.acct; a != nil {
		a.mu.Lock()
		a.graceWaiters--
		a.mu.Unlock()
		w.acct = nil
	}
}

// wakeWaitersLocked wakes the connections waiting for a slot of the
// account: a session ended or the sub-user changed. The caller holds a.mu.
func (a *account) wakeWaitersLocked() {
	if a.wake != nil {
		close(a.wake)
		a.wake = nil
	}
}
