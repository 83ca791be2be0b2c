package gateway

// AccountSeq is the change number of the sub-user snapshot the gateway's
// enforcement holds, and whether it has an account for the sub-user.
func (g *Gateway) AccountSeq(id int64) (int64, bool) {
	m := g.meter
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[id]
	if a == nil {
		return 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.user.Seq, true
}
