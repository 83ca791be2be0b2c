package gateway

// holds reports whether enforcement holds an account for the sub-user: it
// has sessions, waits for one, or holds leases not released yet. The
// credential cache never evicts such a one.
func (m *meter) holds(id int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.accounts[id] != nil
}
