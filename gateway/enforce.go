package gateway

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/subgate/subgate"
)

// Enforcement keeps a registry sub-user → live sessions (account.sessions).
// Gates (status, expiry, concurrency, budget) are checked on admission; any
// change to the sub-user, its expiry timer or an exhausted budget re-checks
// the live sessions and cuts those that may not continue.

// admit checks the gates for an authenticated principal and registers a
// session for it, or explains the refusal.
func (g *Gateway) admit(p *principal, proto string, client net.Conn, ip netip.Addr) (*session, *refusal) {
	now := g.now()
	u := p.user
	if cur := g.creds.get(u.ID); cur != nil && cur.Seq >= u.Seq {
		u = cur
	}
	product := p.target.Product
	if product == "" {
		product = g.cfg.DefaultProduct
	}
	if r := u.Check(product, now, u.Usage.At(g.cfg.Windows, now)); r != nil {
		return nil, fromDomain(r)
	}
	m := g.meter
	m.mu.Lock()
	a := m.accountLocked(u)
	a.mu.Lock()
	if u.Seq > a.user.Seq {
		a.user = u
	}
	if a.exhausted != nil && now.Before(a.exhaustedUntil) {
		r := a.exhausted
		a.mu.Unlock()
		m.mu.Unlock()
		return nil, r
	}
	if limit := a.user.Limits.MaxConcurrency; limit > 0 && int64(len(a.sessions)) >= limit {
		a.mu.Unlock()
		m.mu.Unlock()
		return nil, refuse(subgate.ReasonConcurrency, "at most %d concurrent connections", limit)
	}
	s := &session{
		g: g, acct: a, user: a.user, password: p.password, ip: ip, target: p.target,
		product: product, chain: a.chainLocked(product), proto: proto, client: client, start: now,
	}
	a.sessions[s] = struct{}{}
	a.armExpiryLocked(now)
	a.mu.Unlock()
	m.mu.Unlock()

	// Refuse before dialing when there is nothing to spend.
	b, n, r := s.reserve(1)
	if r != nil {
		a.unregister(s)
		return nil, r
	}
	s.settle(b, n, 0)
	g.metrics.open.Inc()
	g.metrics.total.WithLabelValues(proto).Inc()
	return s, nil
}

func (a *account) unregister(s *session) {
	a.mu.Lock()
	delete(a.sessions, s)
	if len(a.sessions) == 0 {
		a.idleSince = a.m.g.now()
		if a.expiry != nil {
			a.expiry.Stop()
			a.expiry = nil
		}
	}
	a.mu.Unlock()
}

// armExpiryLocked schedules a re-check for the moment the sub-user expires.
func (a *account) armExpiryLocked(now time.Time) {
	if a.expiry != nil {
		a.expiry.Stop()
		a.expiry = nil
	}
	if a.user.ExpiresAt == nil || len(a.sessions) == 0 {
		return
	}
	a.expiry = time.AfterFunc(a.user.ExpiresAt.Sub(now)+time.Millisecond, a.recheck)
}

// onChange reacts to a changed sub-user (from the credential cache): live
// sessions are re-checked and cut at once, and the node's unreserved lease
// goes back to the store, because limits or balances may have shrunk. It
// never waits on the store: it runs while the cache holds its refresh lock,
// and a slow store must not delay cuts or logins.
func (m *meter) onChange(old, cur *subgate.SubUser) {
	m.mu.Lock()
	a := m.accounts[cur.ID]
	m.mu.Unlock()
	if a == nil {
		return
	}
	a.mu.Lock()
	if a.user == nil || cur.Seq >= a.user.Seq {
		a.user = cur
	}
	a.exhausted = nil
	bals := make([]*balance, 0, len(subgate.Products))
	for _, p := range subgate.Products {
		if b := a.balances[p]; b != nil {
			bals = append(bals, b)
		}
	}
	a.returnLeaseLocked(bals)
	a.mu.Unlock()
	a.recheck()
	if len(bals) > 0 {
		go a.releaseAfterChange(bals)
	}
}

// returnLeaseLocked moves the unreserved lease of bals to the next flush's
// releases. Bytes a concurrent take got are settled later; only the
// unreserved rest is released. The caller holds a.mu.
func (a *account) returnLeaseLocked(bals []*balance) bool {
	released := false
	now := a.m.g.now()
	for _, b := range bals {
		b.dryUntil.Store(0)
		if n := b.releasable(now); n > 0 {
			a.release[b.product] += n
			released = true
		}
	}
	return released
}

// releaseAfterChange waits for lease requests that were in flight during a
// change (sized for the old state), returns what they granted too, and has
// the flusher send the releases now.
func (a *account) releaseAfterChange(bals []*balance) {
	for _, b := range bals {
		b.acquireMu.Lock()
	}
	a.mu.Lock()
	a.returnLeaseLocked(bals)
	pending := len(a.release) > 0
	a.mu.Unlock()
	for i := len(bals) - 1; i >= 0; i-- {
		bals[i].acquireMu.Unlock()
	}
	if pending {
		a.m.g.flusher.kick()
	}
}

// recheck cuts every session of the account that may no longer continue.
func (a *account) recheck() {
	g := a.m.g
	now := g.now()
	a.mu.Lock()
	u := a.user
	w := u.Usage.At(g.cfg.Windows, now)
	sessions := make([]*session, 0, len(a.sessions))
	for s := range a.sessions {
		sessions = append(sessions, s)
	}
	a.armExpiryLocked(now)
	a.mu.Unlock()
	for _, s := range sessions {
		if r := s.verdict(u, now, w); r != nil {
			g.log.Info("cutting connection", "subuser", s.user.Username, "reason", r.Code, "detail", r.Message)
			s.cut(r.Code)
		}
	}
}

// verdict says why s may not continue under the sub-user's current state.
func (s *session) verdict(u *subgate.SubUser, now time.Time, w subgate.WindowUsage) *refusal {
	if u.DeletedAt != nil {
		return refuse(subgate.ReasonDeleted, "sub-user was deleted")
	}
	if s.password != "" && (u.Username != s.user.Username || !subgate.EqualSecret(u.Password, s.password)) {
		return refuse(subgate.ReasonAuth, "credentials changed")
	}
	if s.password == "" && !allowedIP(u.AllowIPs, s.ip) {
		return refuse(subgate.ReasonAuth, "source IP no longer allowed")
	}
	if r := u.Check(s.product, now, w); r != nil {
		return fromDomain(r)
	}
	return nil
}

func allowedIP(prefixes []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// egressState counts the distinct egress keys of a capped sub-user in the
// day window (ip_usage_cap). It starts from what the store counted for the
// day (Usage.IPsUsed: other nodes and earlier processes), so neither an
// idle spell nor a restart resets the count; new keys are recorded in the
// store by the next flush. Keys used before this process began are counted
// but not known, so reusing one of them is refused once the cap is full:
// the cap errs towards refusing.
type egressState struct {
	mu    sync.Mutex
	day   int64
	seed  int64 // the store's count for day when this process began counting
	keys  map[string]bool
	fresh []string // not yet sent to the store
}

// admitEgress is the dialer's Admit callback.
func (s *session) admitEgress(key string) error {
	a := s.acct
	g := a.m.g
	now := g.now()
	a.mu.Lock()
	u := a.user
	a.mu.Unlock()
	limit := u.Limits.IPUsageCap
	if limit <= 0 {
		return nil // nothing to count against
	}
	day := g.cfg.Windows.DayKey(now)
	stored := u.Usage.At(g.cfg.Windows, now).IPsUsed
	e := a.m.lockEgress(u.ID)
	defer e.mu.Unlock()
	if e.day != day {
		e.day, e.seed, e.keys = day, stored, map[string]bool{}
	}
	if e.keys[key] {
		return nil
	}
	// Keys this node sent meanwhile are in stored too, so the larger of
	// the two is the best lower bound of the day's distinct keys.
	if max(e.seed+int64(len(e.keys)), stored) >= limit {
		return &subgate.Refusal{Code: subgate.ReasonIPCap, Message: "daily limit of distinct egress IPs reached"}
	}
	e.keys[key] = true
	e.fresh = append(e.fresh, key)
	return nil
}

// lockEgress returns the egress state of a sub-user, created if need be,
// locked. It is locked under m.mu, so takeEgressLocked cannot drop it as a
// past day's state while the caller moves it to today.
func (m *meter) lockEgress(id int64) *egressState {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.egress == nil {
		m.egress = map[int64]*egressState{}
	}
	e := m.egress[id]
	if e == nil {
		e = &egressState{}
		m.egress[id] = e
	}
	e.mu.Lock()
	return e
}

// takeEgressLocked collects the keys to record in the store and forgets
// the states of past days. The caller holds m.mu.
func (m *meter) takeEgressLocked(now time.Time) []subgate.EgressUse {
	var out []subgate.EgressUse
	today := m.g.cfg.Windows.DayKey(now)
	for id, e := range m.egress {
		e.mu.Lock()
		for _, key := range e.fresh {
			out = append(out, subgate.EgressUse{SubUserID: id, Key: key})
		}
		e.fresh = nil
		if e.day != today {
			delete(m.egress, id)
		}
		e.mu.Unlock()
	}
	return out
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
