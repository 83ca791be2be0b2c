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
// session for it, or explains the refusal. A connection refused only for
// max_concurrency first waits a short grace for a session to end (see
// slotwait.go).
func (g *Gateway) admit(p *principal, proto string, client net.Conn, ip netip.Addr) (*session, *refusal) {
	product := p.target.Product
	if product == "" {
		product = g.cfg.DefaultProduct
	}
	w := &slotWait{g: g}
	s, r := g.register(p, product, proto, client, ip, w)
	for r != nil && w.wake != nil {
		if !w.wait() {
			r = refuse(reasonShuttingDown, "the gateway is shutting down")
			break
		}
		s, r = g.register(p, product, proto, client, ip, w)
	}
	w.leave()
	if r != nil {
		return nil, r
	}
	// Refuse before dialing when there is nothing to spend.
	b, n, r := s.reserve(1)
	if r != nil {
		s.acct.unregister(s)
		return nil, r
	}
	s.settle(b, n, 0)
	g.metrics.open.Inc()
	g.metrics.total.WithLabelValues(proto).Inc()
	return s, nil
}

// register applies the gates and registers a session; a refusal for the
// cap prepares w to wait.
func (g *Gateway) register(p *principal, product subgate.Product, proto string, client net.Conn, ip netip.Addr, w *slotWait) (*session, *refusal) {
	now := g.now()
	u := p.user
	if cur := g.creds.get(u.ID); cur != nil && cur.Seq >= u.Seq {
		u = cur
	}
	if r := u.Check(product, now, u.Usage.At(g.cfg.Windows, now)); r != nil {
		return nil, fromDomain(r)
	}
	s := &session{g: g, user: p.user, password: p.password, ip: ip, target: p.target, product: product, proto: proto, client: client, start: now}
	m := g.meter
	m.mu.Lock()
	a := m.accountLocked(u)
	a.mu.Lock()
	if u.Seq > a.user.Seq {
		a.user = u
	}
	r := a.gatesLocked(s, p.user, now, w)
	if r == nil && m.cutDown {
		// The gates may have let go of m.mu: a forced shutdown cut every
		// session meanwhile and would not see this one.
		r = refuse(reasonShuttingDown, "the gateway is shutting down")
	}
	if r == nil {
		s.acct, s.user, s.chain = a, a.user, a.chainLocked(product)
		a.sessions[s] = struct{}{}
		a.armExpiryLocked(now)
	}
	a.mu.Unlock()
	m.mu.Unlock()
	if r != nil {
		return nil, r
	}
	return s, nil
}

// gatesLocked checks what the caller did not: an exhausted budget, and the
// cap. A connection that waited is checked again as a live session would
// be, since the sub-user (or its password) may have changed meanwhile; so
// is one whose account holds another sub-user than checked, the one the
// client authenticated against. The caller holds m.mu and a.mu.
func (a *account) gatesLocked(s *session, checked *subgate.SubUser, now time.Time, w *slotWait) *refusal {
	if w.retrying() {
		u := a.user
		if r := s.verdict(u, now, u.Usage.At(a.m.g.cfg.Windows, now)); r != nil {
			return r
		}
	}
	if a.exhausted != nil && now.Before(a.exhaustedUntil) {
		return a.exhausted
	}
	if r := a.slotGateLocked(now, w); r != nil {
		return r
	}
	// A change since the client authenticated (a new password, a deletion
	// the cache no longer shows), or one that arrived while the slot gate
	// let go of the locks to ask the store, re-checked the live sessions,
	// not this one.
	if u := a.user; u != checked {
		return s.verdict(u, now, u.Usage.At(a.m.g.cfg.Windows, now))
	}
	return nil
}

func (a *account) unregister(s *session) {
	a.mu.Lock()
	delete(a.sessions, s)
	a.wakeWaitersLocked()
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
	a.wakeWaitersLocked() // a waiting connection re-checks the sub-user
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

// egressState caches what this node knows of a capped sub-user's egress
// keys in the day window (ip_usage_cap). The store decides on every key
// this node has not seen that day (Store.AdmitEgress, which serialises a
// sub-user's admissions across nodes); the first such call also loads the
// day's keys, so after a restart a key used earlier in the day is admitted
// without asking again. A key the store refused stays refused while the day
// and the cap last: no node can add it once the cap is full.
type egressState struct {
	mu      sync.Mutex
	day     int64
	loaded  bool            // the day's keys were loaded from the store
	keys    map[string]bool // admitted by the store
	refused map[string]bool // refused by the store under cap
	cap     int64

	storeMu sync.Mutex // one store call per sub-user at a time
	failed  time.Time  // when the latest store call failed; storeMu guards it
	queued  int        // admissions waiting for storeMu; mu guards it
}

// maxRefusedKeys bounds the refusals remembered per sub-user and day; keys
// beyond it ask the store again.
const maxRefusedKeys = 1024

// admitEgress is the dialer's Admit callback. A key this node knows costs
// no store round trip; only a new one does.
func (s *session) admitEgress(key string) error {
	a := s.acct
	g := a.m.g
	a.mu.Lock()
	u := a.user
	a.mu.Unlock()
	limit := u.Limits.IPUsageCap
	if limit <= 0 {
		return nil // nothing to count against
	}
	day := g.cfg.Windows.DayKey(g.now())
	e := a.m.egressOf(u.ID)
	if ok, known := e.lookup(day, key, limit); known {
		return egressVerdict(ok)
	}
	queued := time.Now()
	e.lockStore()
	defer e.storeMu.Unlock()
	// Another connection may have asked about the same key meanwhile.
	ok, known := e.lookup(day, key, limit)
	if known {
		return egressVerdict(ok)
	}
	// A call that failed while this one queued behind it gives its answer:
	// against a database that hangs, each asking in turn would keep the
	// connections queued for a timeout each.
	if e.failed.After(queued) {
		return egressUnavailable()
	}
	ctx, cancel := contextWithTimeout(g.cfg.StoreTimeout)
	defer cancel()
	ans, err := g.cfg.Store.AdmitEgress(ctx, subgate.EgressRequest{
		SubUserID: u.ID, DayKey: day, Key: key, Cap: limit, ListKeys: !e.isLoaded(day),
	})
	if err != nil {
		e.failed = time.Now()
		g.log.Warn("egress admission failed", "subuser", u.Username, "err", err)
		return egressUnavailable()
	}
	e.learn(day, key, limit, ans)
	return egressVerdict(ans.Admitted)
}

func egressUnavailable() error {
	return refuse(reasonUnavailable, "cannot check the distinct egress IPs used today")
}

// lockStore takes storeMu, counted in queued while waiting.
func (e *egressState) lockStore() {
	e.mu.Lock()
	e.queued++
	e.mu.Unlock()
	e.storeMu.Lock()
	e.mu.Lock()
	e.queued--
	e.mu.Unlock()
}

func egressVerdict(admitted bool) error {
	if admitted {
		return nil
	}
	return &subgate.Refusal{Code: subgate.ReasonIPCap, Message: "daily limit of distinct egress IPs reached"}
}

// lookup answers from what the node knows: known is false when the store
// must decide.
func (e *egressState) lookup(day int64, key string, limit int64) (admitted, known bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.day != day {
		e.day, e.loaded, e.keys, e.refused = day, false, map[string]bool{}, nil
	}
	if e.keys[key] {
		return true, true
	}
	if e.cap != limit {
		e.cap, e.refused = limit, nil
	}
	return false, e.refused[key]
}

func (e *egressState) isLoaded(day int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.day == day && e.loaded
}

// learn records the store's answer about key.
func (e *egressState) learn(day int64, key string, limit int64, ans subgate.EgressAdmission) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.day != day {
		return // the day ended while the store answered
	}
	if ans.Keys != nil {
		for _, k := range ans.Keys {
			e.keys[k] = true
		}
		e.loaded = true
	}
	if ans.Admitted {
		e.keys[key] = true
		return
	}
	if e.cap == limit && len(e.refused) < maxRefusedKeys {
		if e.refused == nil {
			e.refused = map[string]bool{}
		}
		e.refused[key] = true
	}
}

// egressOf returns the egress state of a sub-user, created if need be.
func (m *meter) egressOf(id int64) *egressState {
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
	return e
}

// pruneEgressLocked forgets the states of past days. The caller holds m.mu.
func (m *meter) pruneEgressLocked(now time.Time) {
	today := m.g.cfg.Windows.DayKey(now)
	for id, e := range m.egress {
		e.mu.Lock()
		if e.day != today {
			delete(m.egress, id)
		}
		e.mu.Unlock()
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
