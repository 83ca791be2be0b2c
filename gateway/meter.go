package gateway

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/subgate/subgate"
)

// Metering is hand-written rather than borrowed from a proxy library because
// it is the product: every copy step first reserves bytes from an in-memory
// budget served by a store lease, copies at most that much, then settles.
// Nothing is ever copied that was not reserved, and nothing is reserved that
// the store did not lease to this node, so no number of parallel connections
// can push a sub-user past its balance or limits.

const (
	minLease = 256 << 10
	maxLease = 64 << 20
	// dryFor is how long a balance the store had nothing for is not asked
	// again (a change to the sub-user clears it at once).
	dryFor = time.Second
	// storeRetry is how long lease requests fail at once after one failed:
	// connections arriving meanwhile hear "unavailable" without waiting
	// for the store, and recovery is noticed soon after.
	storeRetry = 250 * time.Millisecond
	// idleRelease is how long an account without connections keeps its
	// lease before the flusher gives it back.
	idleRelease = 5 * time.Second
)

// meter holds one account per sub-user with connections, a lease or
// unflushed usage.
type meter struct {
	g        *Gateway
	mu       sync.Mutex
	accounts map[int64]*account
	egress   map[int64]*egressState // by sub-user; outlives idle accounts until the day ends
	cutDown  bool                   // cutAll ran: no session may register any more
}

func newMeter(g *Gateway) *meter {
	return &meter{g: g, accounts: map[int64]*account{}}
}

// account is one sub-user's in-memory metering and enforcement state.
type account struct {
	m  *meter
	id int64

	mu             sync.Mutex
	user           *subgate.SubUser // latest snapshot
	sessions       map[*session]struct{}
	balances       map[subgate.Product]*balance
	pending        map[usageKey]int64 // settled, not yet flushed
	release        map[subgate.Product]int64
	idleSince      time.Time
	expiry         *time.Timer
	exhausted      *refusal // last exhaustion, valid until exhaustedUntil
	exhaustedUntil time.Time

	dirs atomic.Int64 // copy directions running, to share the end of a budget

	slotState // max_concurrency across nodes (see slots.go)
}

type usageKey struct {
	product subgate.Product
	hour    int64 // unix seconds of the UTC hour
}

// balance is this node's store lease on one (sub-user, balance product):
// avail is not reserved yet, reserved is held by copy steps in flight; the
// settled rest waits in unflushed (bytes of the current hour) and
// account.pending (earlier hours) for the next flush.
type balance struct {
	acct     *account
	product  subgate.Product
	avail    atomic.Int64
	reserved atomic.Int64 // taken by copy steps in flight
	dryUntil atomic.Int64 // unix nanoseconds
	// downUntil is set when a lease request failed (the store did not
	// answer, or not in time): until then, requests fail at once rather
	// than each waiting for the store again. A failure is never taken for
	// an empty grant: the sub-user may have plenty left.
	downUntil atomic.Int64 // unix nanoseconds
	refilling atomic.Bool
	acquireMu sync.Mutex
	lastGrant atomic.Int64
	// expires is when the store lease behind avail ends (unix nanoseconds)
	// unless a grant or a successful flush renews it first. Bytes of an
	// expired lease may already be granted to another node, so they are
	// never reserved.
	expires atomic.Int64
	// unflushed is usage settled in the hour unflushedHour (unix seconds)
	// and not yet taken by the flusher: a copy step adds to it without
	// taking the account's lock.
	unflushed     atomic.Int64
	unflushedHour atomic.Int64
}

// accountLocked returns the account of u, creating it. The caller holds
// m.mu and registers its session before releasing it, so the flusher cannot
// drop the account in between.
func (m *meter) accountLocked(u *subgate.SubUser) *account {
	a := m.accounts[u.ID]
	if a == nil {
		a = &account{
			m: m, id: u.ID, user: u,
			sessions: map[*session]struct{}{}, balances: map[subgate.Product]*balance{},
			pending: map[usageKey]int64{}, release: map[subgate.Product]int64{},
		}
		m.accounts[u.ID] = a
	}
	return a
}

// chainLocked returns the balances a connection asking for product p draws
// from, in order: the product's own balance, then "*". The caller holds a.mu.
func (a *account) chainLocked(p subgate.Product) []*balance {
	get := func(p subgate.Product) *balance {
		b := a.balances[p]
		if b == nil {
			b = &balance{acct: a, product: p}
			a.balances[p] = b
		}
		return b
	}
	if p == subgate.ProductAny {
		return []*balance{get(p)}
	}
	return []*balance{get(p), get(subgate.ProductAny)}
}

// take reserves up to want bytes from the unreserved lease, all-or-part;
// nothing once the lease has expired (acquire then asks for a new one).
func (b *balance) take(want int64, now time.Time) int64 {
	if b.expired(now) {
		return 0
	}
	for {
		have := b.avail.Load()
		if have <= 0 {
			return 0
		}
		n := min(have, want)
		if b.avail.CompareAndSwap(have, have-n) {
			b.reserved.Add(n)
			return n
		}
	}
}

func (b *balance) dry(now time.Time) bool { return now.UnixNano() < b.dryUntil.Load() }

func (b *balance) down(now time.Time) bool { return now.UnixNano() < b.downUntil.Load() }

func (b *balance) expired(now time.Time) bool { return now.UnixNano() >= b.expires.Load() }

// dropExpiredLocked forgets the unreserved bytes of an expired lease: the
// store has taken them back, and releasing them later would shrink the next
// lease instead. The caller holds acquireMu, which every grant is made under.
func (b *balance) dropExpiredLocked(now time.Time) {
	if b.expired(now) {
		b.avail.Store(0)
	}
}

// releasable takes the whole unreserved lease to hand back to the store;
// an expired lease has nothing to hand back.
func (b *balance) releasable(now time.Time) int64 {
	n := b.avail.Swap(0)
	if n <= 0 || b.expired(now) {
		return 0
	}
	return n
}

// renew extends the local lease after the store renewed the node's live
// leases to at+ttl, as every successful flush does.
func (b *balance) renew(at time.Time, ttl time.Duration) {
	to := at.Add(ttl).UnixNano()
	for {
		e := b.expires.Load()
		if e <= at.UnixNano() || e >= to { // ended before the flush, or renewed since
			return
		}
		if b.expires.CompareAndSwap(e, to) {
			return
		}
	}
}

// leaseWant sizes the next lease: a slice of what the sub-user has left, so
// leases shrink as the budget shrinks and several nodes can share one.
func (b *balance) leaseWant(step int64) int64 {
	a := b.acct
	a.mu.Lock()
	u := a.user
	a.mu.Unlock()
	now := a.m.g.now()
	budget := u.Budget(b.product, u.Usage.At(a.m.g.cfg.Windows, now))
	return max(min(budget/8, maxLease), minLease, step)
}

// acquire asks the store for more lease when nothing is left locally. It
// reports whether the balance has bytes afterwards.
func (b *balance) acquire(ctx context.Context, step int64) (bool, error) {
	b.acquireMu.Lock()
	defer b.acquireMu.Unlock()
	now := b.acct.m.g.now()
	b.dropExpiredLocked(now)
	if b.avail.Load() > 0 {
		return true, nil
	}
	if b.down(now) {
		return false, errStoreDown
	}
	if b.dry(now) {
		return false, nil
	}
	grant, err := b.grow(ctx, b.leaseWant(step), now)
	if err != nil {
		return false, err
	}
	if grant == 0 {
		b.dryUntil.Store(now.Add(dryFor).UnixNano())
		return false, nil
	}
	return true, nil
}

// grow performs one AcquireLease; the caller holds acquireMu.
func (b *balance) grow(ctx context.Context, want int64, now time.Time) (int64, error) {
	g := b.acct.m.g
	b.dropExpiredLocked(now)
	grant, err := g.cfg.Store.AcquireLease(ctx, subgate.LeaseRequest{
		Node: g.cfg.Node, SubUserID: b.acct.id, Product: b.product, Want: want,
		TTL: g.cfg.LeaseTTL, Now: now, Windows: g.cfg.Windows,
	})
	if err != nil {
		// From the failure on, not from the request's start: a request
		// that hung for its whole deadline must not be retried at once.
		b.downUntil.Store(g.now().Add(storeRetry).UnixNano())
		g.metrics.leases.WithLabelValues("error").Inc()
		g.log.Warn("lease request failed", "subuser_id", b.acct.id, "product", b.product, "err", err)
		return 0, err
	}
	b.downUntil.Store(0)
	if grant == 0 {
		g.metrics.leases.WithLabelValues("empty").Inc()
		return 0, nil
	}
	g.metrics.leases.WithLabelValues("granted").Inc()
	g.metrics.leaseBytes.Add(float64(grant))
	// The grant renews the whole lease row; the expiry is stored first so
	// a take that sees the new bytes sees it too.
	b.expires.Store(now.Add(g.cfg.LeaseTTL).UnixNano())
	b.avail.Add(grant)
	b.lastGrant.Store(grant)
	return grant, nil
}

// maybeRefill tops the lease up in the background before it runs dry, so a
// copy step rarely waits on the store.
func (b *balance) maybeRefill() {
	low := max(b.lastGrant.Load()/2, minLease/2)
	now := b.acct.m.g.now()
	if b.avail.Load() >= low || b.dry(now) || b.down(now) || !b.refilling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer b.refilling.Store(false)
		if !b.acquireMu.TryLock() {
			return
		}
		defer b.acquireMu.Unlock()
		ctx, cancel := contextWithTimeout(b.acct.m.g.cfg.StoreTimeout)
		defer cancel()
		now := b.acct.m.g.now()
		if grant, err := b.grow(ctx, b.leaseWant(0), now); err == nil && grant == 0 {
			b.dryUntil.Store(now.Add(dryFor).UnixNano())
		}
	}()
}

// reserve takes up to want bytes for one copy step of s from its balance
// chain, leasing more from the store when the chain is dry. A nil balance
// comes with the refusal that ends the connection.
func (s *session) reserve(want int64) (*balance, int64, *refusal) {
	var wait time.Time
	for {
		now := s.g.now()
		for _, b := range s.chain {
			if n := b.take(want, now); n > 0 {
				b.maybeRefill()
				s.inflight.Add(n)
				return b, n, nil
			}
		}
		got, err := s.acquire(want)
		if err != nil {
			return nil, 0, storeUnavailable()
		}
		if got {
			continue
		}
		// Other connections' steps in flight may hand bytes back: the end
		// of a budget is only reached once they have settled (a step lasts
		// at most stepTime).
		if s.othersInFlight() >= minWorthWaiting {
			now := time.Now()
			if wait.IsZero() {
				wait = now.Add(2 * stepTime)
			}
			if now.Before(wait) {
				time.Sleep(2 * time.Millisecond)
				continue
			}
		}
		return nil, 0, s.acct.exhaustedFor(s)
	}
}

// minWorthWaiting ignores the one-byte reservations of idle connections.
const minWorthWaiting = 1024

// acquire asks the store for more lease on the chain, in order.
func (s *session) acquire(want int64) (bool, error) {
	for _, b := range s.chain {
		ctx, cancel := contextWithTimeout(s.g.cfg.StoreTimeout)
		got, err := b.acquire(ctx, want)
		cancel()
		if err != nil || got {
			return got, err
		}
	}
	return false, nil
}

// othersInFlight is what the sub-user's other copy steps hold on s's chain.
func (s *session) othersInFlight() int64 {
	var n int64
	for _, b := range s.chain {
		n += b.reserved.Load()
	}
	return n - s.inflight.Load()
}

// settle ends a step of s: see account.settle.
func (s *session) settle(b *balance, reserved, used int64) {
	s.inflight.Add(-reserved)
	s.acct.settle(b, reserved, used, s.g.now())
}

// settle books the bytes a step copied as usage and returns the rest of its
// reservation.
func (a *account) settle(b *balance, reserved, used int64, now time.Time) {
	if used > 0 { // usage first, then the reservation shrinks: see exhaustedFor
		if h := subgate.HourOf(now).Unix(); b.unflushedHour.Load() == h {
			b.unflushed.Add(used)
		} else {
			a.mu.Lock()
			b.drainLocked()
			b.unflushedHour.Store(h)
			b.unflushed.Add(used)
			a.mu.Unlock()
		}
	}
	b.reserved.Add(-reserved)
	if reserved > used {
		b.avail.Add(reserved - used)
	}
}

// drainLocked moves b's unflushed usage to the account's pending usage of
// its hour. A step that settles concurrently, just as the hour turns, may
// count towards the next hour; no byte is lost. The caller holds acct.mu.
func (b *balance) drainLocked() {
	if n := b.unflushed.Swap(0); n != 0 {
		b.acct.pending[usageKey{b.product, b.unflushedHour.Load()}] += n
	}
}

// pendingLocked sums unflushed usage by balance.
func (a *account) pendingLocked() map[subgate.Product]int64 {
	out := map[subgate.Product]int64{}
	for k, n := range a.pending {
		out[k.product] += n
	}
	for p, b := range a.balances {
		out[p] += b.unflushed.Load()
	}
	return out
}

// exhaustedFor explains why s's chain has nothing left, then cuts every
// connection of the sub-user that cannot continue either. The reason comes
// from a fresh read of the sub-user with this node's unflushed usage added;
// it is remembered briefly so a burst of connections costs one read.
func (a *account) exhaustedFor(s *session) *refusal {
	g := a.m.g
	now := g.now()
	a.mu.Lock()
	if a.exhausted != nil && now.Before(a.exhaustedUntil) {
		r := a.exhausted
		a.mu.Unlock()
		return r
	}
	a.mu.Unlock()

	// Settled usage goes to the store first (the flusher may hold some in
	// a batch under way); what this node still holds then counts as spent:
	// steps in flight and the unreserved lease (the store grants nothing
	// past them).
	// Holding the flusher keeps usage from being between memory and the
	// store while it is counted. Held bytes are read before pending usage,
	// the reverse of the order settle moves them in, so no byte is missed
	// (one may count twice, which only errs towards naming a limit).
	// A store that fails here says nothing about the budget: the refusal is
	// "unavailable", neither remembered nor applied to other connections.
	ctx, cancel := contextWithTimeout(g.cfg.StoreTimeout)
	defer cancel()
	f := g.flusher
	if !lockWithin(ctx, &f.mu) {
		return storeUnavailable()
	}
	if err := f.flushLocked(ctx, false); err != nil {
		f.mu.Unlock()
		g.log.Warn("flush before explaining an exhausted budget failed", "err", err)
		return storeUnavailable()
	}
	held := map[subgate.Product]int64{}
	a.mu.Lock()
	for p, b := range a.balances {
		held[p] = b.reserved.Load() + b.avail.Load()
	}
	a.mu.Unlock()
	a.mu.Lock()
	pending := a.pendingLocked()
	a.mu.Unlock()
	for p, n := range held {
		pending[p] += n
	}
	fresh, err := g.cfg.Store.SubUser(ctx, 0, strconv.FormatInt(a.id, 10))
	f.mu.Unlock()
	if err != nil {
		g.log.Warn("reading a sub-user to explain an exhausted budget failed", "subuser_id", a.id, "err", err)
		return storeUnavailable()
	}

	r := refuse(subgate.ReasonTrafficExhausted, "no traffic left for product %s", s.product)
	fresh.Usage = fresh.Usage.At(g.cfg.Windows, now)
	addPending(fresh, pending)
	if dr := fresh.Check(s.product, now, fresh.Usage); dr != nil {
		r = fromDomain(dr)
	}
	a.mu.Lock()
	a.exhausted, a.exhaustedUntil = r, now.Add(dryFor)
	var victims []*session
	for o := range a.sessions {
		// A session with a step in flight finishes it and then finds the
		// budget gone itself, so the bytes it holds are still delivered;
		// idle ones (at most a byte reserved) are cut now.
		if o != s && o.inflight.Load() <= 1 && (r.Code != subgate.ReasonTrafficExhausted || o.chainDry(now)) {
			victims = append(victims, o)
		}
	}
	a.mu.Unlock()
	for _, o := range victims {
		o.cut(r.Code)
	}
	return r
}

func (s *session) chainDry(now time.Time) bool {
	for _, b := range s.chain {
		if !b.dry(now) || b.avail.Load() > 0 {
			return false
		}
	}
	return true
}

// addPending counts usage not yet in the store into a fresh sub-user.
func addPending(u *subgate.SubUser, pending map[subgate.Product]int64) {
	if u.Traffic == nil {
		u.Traffic = map[subgate.Product]subgate.Traffic{}
	}
	for p, n := range pending {
		t := u.Traffic[p]
		t.Available -= n
		t.Used += n
		u.Traffic[p] = t
		u.Usage.Day += n
		u.Usage.Month += n
	}
}

// cutAll ends every live connection (forced shutdown).
func (m *meter) cutAll(reason string) {
	m.mu.Lock()
	m.cutDown = true
	var all []*session
	for _, a := range m.accounts {
		a.mu.Lock()
		for s := range a.sessions {
			all = append(all, s)
		}
		a.mu.Unlock()
	}
	m.mu.Unlock()
	for _, s := range all {
		s.cut(reason)
	}
}
