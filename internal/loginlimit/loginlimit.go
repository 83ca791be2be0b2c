// Package loginlimit slows password and token guessing wherever a login is
// checked: the proxy gateway, the NetNut dialect and the dashboard.
//
// Failed logins are counted in three ways at once: per source (an IPv4
// address or IPv6 /64, plus the IPv6 /48 around it), per source and account,
// and per account from every source together, so neither one address
// trying many accounts nor many addresses trying one account get far. A
// login is checked only while every bucket it counts against has a failure
// left; otherwise it is refused unchecked, so a limited guesser learns
// nothing. Successes spend nothing, but they buy no exemption for wrong
// passwords either: a failure always spends, whatever succeeded before.
//
// One exception keeps a targeted account usable: when only the account's
// shared bucket is spent, a source that logged in to that account
// successfully within Limits.Trust is still checked (its own source and
// source-and-account buckets still bound its failures). Anyone else is
// refused unchecked until the account's bucket refills.
package loginlimit

import (
	"hash/maphash"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are one login edge's numbers.
type Limits struct {
	Source  Rate // per IPv4 address or IPv6 /64, whatever the account
	Network Rate // per IPv6 /48 on top of its /64s; zero Burst: not counted
	Pair    Rate // per source and account
	Account Rate // per account, all sources together
	// Trust is how long a successful login lets its source past the
	// account's spent shared bucket.
	Trust time.Duration
	Max   int // keys remembered per bucket table and trusted pairs
}

// The HTTP edges' limits (NetNut login, dashboard sign-in): humans and
// scripts typing passwords checked with bcrypt.
const (
	Burst         = 10
	Refill        = 6 * time.Second
	NetworkBurst  = 10 * Burst
	NetworkRefill = Refill / 10
	PairBurst     = 5
	PairRefill    = 12 * time.Second
	AccountBurst  = 20
	AccountRefill = 30 * time.Second
	TrustFor      = 7 * 24 * time.Hour
	MaxKeys       = 10000
)

// HTTP are the limits of the HTTP edges.
var HTTP = Limits{
	Source:  Rate{Burst, Refill},
	Network: Rate{NetworkBurst, NetworkRefill},
	Pair:    Rate{PairBurst, PairRefill},
	Account: Rate{AccountBurst, AccountRefill},
	Trust:   TrustFor,
	Max:     MaxKeys,
}

// Limiter counts failed logins. It is safe for concurrent use.
type Limiter struct {
	limits Limits
	now    func() time.Time
	seed   maphash.Seed

	mu       sync.Mutex
	sources  *table[netip.Prefix] // IPv4 /32 and IPv6 /64
	networks *table[netip.Prefix] // IPv6 /48
	pairs    *table[pairKey]
	accounts *table[uint64]
	trusted  map[pairKey]time.Time // latest success of a source and account

	nextTrustSweep time.Time // no scan of a full trusted map before this
}

// pairKey is a source and an account (hashed: names are any length).
type pairKey struct {
	source  netip.Prefix
	account uint64
}

// New returns a Limiter with the HTTP edges' limits.
func New() *Limiter { return NewWith(HTTP) }

// NewWith returns a Limiter with the given limits.
func NewWith(l Limits) *Limiter {
	return &Limiter{
		limits: l, now: time.Now, seed: maphash.MakeSeed(),
		sources:  newTable[netip.Prefix](l.Source, l.Max),
		networks: newTable[netip.Prefix](l.Network, l.Max),
		pairs:    newTable[pairKey](l.Pair, l.Max),
		accounts: newTable[uint64](l.Account, l.Max),
		trusted:  map[pairKey]time.Time{},
	}
}

// Limits returns the limits l counts with.
func (l *Limiter) Limits() Limits { return l.limits }

// Attempt is one login being checked; Done must be called once the
// outcome is known.
type Attempt struct {
	l    *Limiter
	key  pairKey
	now  time.Time
	held []*rate.Reservation
}

// Begin reserves one failure for a login from addr to account ("" when
// the login names no account, as for an address-only login, which counts
// per source only). ok is false when the login must be refused unchecked.
// Account names are compared case-insensitively, without surrounding
// spaces.
func (l *Limiter) Begin(addr netip.Addr, account string) (a *Attempt, ok bool) {
	now := l.now()
	a = &Attempt{l: l, now: now, key: pairKey{source: sourceOf(addr)}}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !a.reserve(l.sources.bucket(a.key.source, now)) {
		return nil, false
	}
	if network, ok := networkOf(addr); ok && l.limits.Network.Burst > 0 && !a.reserve(l.networks.bucket(network, now)) {
		return nil, false
	}
	if strings.TrimSpace(account) == "" {
		return a, true
	}
	a.key.account = maphash.String(l.seed, strings.ToLower(strings.TrimSpace(account)))
	if !a.reserve(l.pairs.bucket(a.key, now)) {
		return nil, false
	}
	// A trusted source is checked without a failure of the account's
	// shared bucket; its own buckets above still bound it.
	if !a.take(l.accounts.bucket(a.key.account, now)) && !l.trustedLocked(a.key, now) {
		a.giveBack()
		return nil, false
	}
	return a, true
}

// reserve takes one failure from b; when b has none, it gives back what
// the attempt holds and reports false.
func (a *Attempt) reserve(b *rate.Limiter) bool {
	if !a.take(b) {
		a.giveBack()
		return false
	}
	return true
}

// take reserves one failure of b if it has one left.
func (a *Attempt) take(b *rate.Limiter) bool {
	res := b.ReserveN(a.now, 1)
	if !res.OK() || res.DelayFrom(a.now) > 0 {
		res.CancelAt(a.now)
		return false
	}
	a.held = append(a.held, res)
	return true
}

// giveBack returns the attempt's reservations, as of their own time: a
// reservation already due is only given back when cancelled as of then.
func (a *Attempt) giveBack() {
	for _, res := range a.held {
		res.CancelAt(a.now)
	}
	a.held = nil
}

// Done records the outcome: a failure keeps what it reserved, a success
// gives it back and trusts its source for the account.
func (a *Attempt) Done(failed bool) {
	if failed {
		return
	}
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	a.giveBack()
	if a.key.account != 0 {
		a.l.trustLocked(a.key, a.now)
	}
}

// Abandon gives back what the attempt reserved without recording an
// outcome: the credentials could not be checked (the store did not answer),
// which is neither a failure to count nor a success to trust.
func (a *Attempt) Abandon() {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	a.giveBack()
}

func (l *Limiter) trustedLocked(k pairKey, now time.Time) bool {
	t, ok := l.trusted[k]
	return ok && now.Sub(t) < l.limits.Trust
}

// trustLocked remembers a success; a full map drops expired entries (one
// scan a second at most), then arbitrary ones, to stay bounded.
func (l *Limiter) trustLocked(k pairKey, now time.Time) {
	if _, ok := l.trusted[k]; !ok && len(l.trusted) >= l.limits.Max {
		if !now.Before(l.nextTrustSweep) {
			for old, t := range l.trusted {
				if now.Sub(t) >= l.limits.Trust {
					delete(l.trusted, old)
				}
			}
			l.nextTrustSweep = now.Add(time.Second)
		}
		for old := range l.trusted {
			if len(l.trusted) < l.limits.Max {
				break
			}
			delete(l.trusted, old)
		}
	}
	l.trusted[k] = now
}

// networkBits is the IPv6 network counted as a whole besides its /64s.
const networkBits = 48

// sourceOf is the key a login from addr counts under: the IPv4 address, or
// the IPv6 /64 (one host usually holds a whole /64, so single IPv6
// addresses would cost an attacker nothing).
func sourceOf(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	if !addr.Is6() {
		return netip.PrefixFrom(addr, addr.BitLen())
	}
	p, _ := addr.Prefix(64)
	return p
}

// networkOf is the IPv6 /48 around addr; IPv4 has none.
func networkOf(addr netip.Addr) (netip.Prefix, bool) {
	addr = addr.Unmap().WithZone("")
	if !addr.Is6() {
		return netip.Prefix{}, false
	}
	p, _ := addr.Prefix(networkBits)
	return p, true
}

// Attempt begins a login from the peer of r to account; see Begin. done
// must be called with whether the login failed.
func (l *Limiter) Attempt(r *http.Request, account string) (done func(failed bool), ok bool) {
	a, ok := l.Begin(peerOf(r), account)
	if !ok {
		return nil, false
	}
	return a.Done, true
}

// peerOf is the peer address of r.
func peerOf(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a
}
