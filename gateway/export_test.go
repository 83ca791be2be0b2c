package gateway

import "github.com/subgate/subgate"

// QueuedBatches is how many usage batches wait for the store.
func (g *Gateway) QueuedBatches() int {
	g.flusher.mu.Lock()
	defer g.flusher.mu.Unlock()
	return len(g.flusher.queue)
}

// AccountStatus is the status the gateway's enforcement holds for a
// sub-user with live or pending sessions, and whether it has an account.
func (g *Gateway) AccountStatus(id int64) (subgate.Status, bool) {
	m := g.meter
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[id]
	if a == nil {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.user.Status, true
}
