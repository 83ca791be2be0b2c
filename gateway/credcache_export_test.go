package gateway

// CredHeld reports whether the credential cache holds the sub-user.
func (g *Gateway) CredHeld(id int64) bool { return g.creds.get(id) != nil }

// CredHeldCount is how many sub-users the credential cache holds.
func (g *Gateway) CredHeldCount() int {
	g.creds.mu.RLock()
	defer g.creds.mu.RUnlock()
	return len(g.creds.byID)
}
