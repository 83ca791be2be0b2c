package gateway

// QueuedBatches is how many usage batches wait for the store.
func (g *Gateway) QueuedBatches() int {
	g.flusher.mu.Lock()
	defer g.flusher.mu.Unlock()
	return len(g.flusher.queue)
}
