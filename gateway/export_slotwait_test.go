package gateway

import "time"

// ConcurrencyGrace is how long a connection at the cap waits by default.
const ConcurrencyGrace = concurrencyGrace

// SetConcurrencyGrace changes the grace of connections not yet accepted.
// It takes the lock the accept loop takes before serving a connection, so
// the handlers see the new value.
func (g *Gateway) SetConcurrencyGrace(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.grace = d
}

// GraceWaiters is how many connections of a sub-user wait for a slot.
func (g *Gateway) GraceWaiters(id int64) int {
	g.meter.mu.Lock()
	a := g.meter.accounts[id]
	g.meter.mu.Unlock()
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.graceWaiters
}
