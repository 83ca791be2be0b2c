package loginlimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func requestFrom(remote string) *http.Request {
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = remote
	return r
}

// account names the i-th account a test tries, so that per-source tests
// stay below the per-account limits.
func account(i int) string { return "user" + strconv.Itoa(i) + "@example.com" }

func TestCountsOnlyFailures(t *testing.T) {
	l := New()
	r := requestFrom("127.0.0.1:40000")
	for i := 0; i < 3*Burst; i++ {
		done, ok := l.Attempt(r, account(0))
		if !ok {
			t.Fatalf("success %d was limited", i)
		}
		done(false)
	}
	for i := 0; i < Burst; i++ {
		done, ok := l.Attempt(r, account(i))
		if !ok {
			t.Fatalf("failure %d of %d was limited", i, Burst)
		}
		done(true)
	}
	if _, ok := l.Attempt(r, account(Burst)); ok {
		t.Fatal("failure beyond the burst was allowed")
	}
	if _, ok := l.Attempt(requestFrom("127.0.0.1:40001"), account(Burst+1)); ok {
		t.Fatal("another port of the same address was allowed")
	}
	// Even the account that succeeded from there is refused unchecked.
	if _, ok := l.Attempt(r, account(0)); ok {
		t.Fatal("a past success exempted an account from its source's limit")
	}
	if done, ok := l.Attempt(requestFrom("127.0.0.2:40000"), account(0)); !ok {
		t.Fatal("another address was limited")
	} else {
		done(true)
	}
}

func TestGroupsIPv6Per64(t *testing.T) {
	l := New()
	for i := 0; i < Burst; i++ {
		done, ok := l.Attempt(requestFrom("[2001:db8::"+strconv.Itoa(1+i)+"]:1"), account(i))
		if !ok {
			t.Fatalf("failure %d limited", i)
		}
		done(true)
	}
	if _, ok := l.Attempt(requestFrom("[2001:db8::ffff]:1"), account(99)); ok {
		t.Fatal("a new address in the same /64 escaped the limit")
	}
	if _, ok := l.Attempt(requestFrom("[2001:db8:0:1::1]:1"), account(99)); !ok {
		t.Fatal("another /64 was limited")
	}
}

func TestIsBounded(t *testing.T) {
	limits := HTTP
	limits.Max = 4
	l := NewWith(limits)
	for i := 0; i < 50; i++ {
		done, ok := l.Attempt(requestFrom("127.0.1."+strconv.Itoa(i)+":1"), account(i))
		if ok {
			done(i%2 == 0)
		}
		if n := max(len(l.sources.buckets), len(l.pairs.buckets), len(l.accounts.buckets), len(l.trusted)); n > limits.Max {
			t.Fatalf("%d keys kept, limit %d", n, limits.Max)
		}
	}
}

// Holding a /48 (65536 /64s) is common; it earns more failures than one
// /64, but a bounded number.
func TestGroupsIPv6Per48(t *testing.T) {
	l := New()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return at } // no refill during the test
	allowed := 0
	for net := 0; net < 1000; net++ {
		src := "[2001:db8:7:" + strconv.FormatInt(int64(net), 16) + "::1]:1"
		for i := 0; i < Burst; i++ {
			done, ok := l.Attempt(requestFrom(src), account(allowed))
			if !ok {
				break
			}
			allowed++
			done(true)
		}
	}
	if allowed != NetworkBurst {
		t.Fatalf("%d failures allowed across one /48, want %d", allowed, NetworkBurst)
	}
	if done, ok := l.Attempt(requestFrom("[2001:db8:8::1]:1"), account(0)); !ok {
		t.Fatal("another /48 was limited")
	} else {
		done(true)
	}
	if _, ok := l.Attempt(requestFrom("[2001:db8:7:ffff::1]:1"), account(0)); ok {
		t.Fatal("a fresh /64 of a limited /48 was allowed")
	}
}

// fixedClock stops time for l, so that nothing refills during a test.
func fixedClock(l *Limiter) *time.Time {
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return at }
	return &at
}

// failures counts the failed logins allowed from addr to acct, up to n.
func failures(l *Limiter, addr, acct string, n int) int {
	for i := 0; i < n; i++ {
		a, ok := l.Begin(netip.MustParseAddr(addr), acct)
		if !ok {
			return i
		}
		a.Done(true)
	}
	return n
}

// A success from an address buys no exemption for wrong passwords from
// there: the source-and-account bucket still runs out.
func TestSuccessBuysNoExemption(t *testing.T) {
	l := New()
	fixedClock(l)
	a, ok := l.Begin(netip.MustParseAddr("192.0.2.1"), "alice")
	if !ok {
		t.Fatal("first login limited")
	}
	a.Done(false)
	if got := failures(l, "192.0.2.1", "alice", 100); got != PairBurst {
		t.Fatalf("%d wrong passwords checked after a success, want %d", got, PairBurst)
	}
	if _, ok := l.Begin(netip.MustParseAddr("192.0.2.1"), "ALICE"); ok {
		t.Fatal("the same account in other case escaped the limit")
	}
	// The address may still try other accounts, within its own bound.
	if got := failures(l, "192.0.2.1", "bob", 100); got != Burst-PairBurst {
		t.Fatalf("%d failures for another account, want %d", got, Burst-PairBurst)
	}
}

// Many addresses guessing one account share its bucket.
func TestAccountIsBoundedAcrossAddresses(t *testing.T) {
	l := New()
	fixedClock(l)
	total := 0
	for i := 1; i <= 100; i++ {
		total += failures(l, "198.51.100."+strconv.Itoa(i), "alice", 100)
	}
	if total != AccountBurst {
		t.Fatalf("%d failures allowed across addresses, want %d", total, AccountBurst)
	}
	if got := failures(l, "198.51.100.200", "bob", 100); got != PairBurst {
		t.Fatalf("another account: %d failures, want %d", got, PairBurst)
	}
}

// When only the account's shared bucket is spent, an address that logged
// in successfully keeps being checked (bounded by its own buckets); every
// other address is refused unchecked.
func TestTrustedSourcePassesASpentAccount(t *testing.T) {
	limits := HTTP
	limits.Account.Every = 1000 * time.Hour // no refill while trust expires
	l := NewWith(limits)
	at := fixedClock(l)
	good, _ := l.Begin(netip.MustParseAddr("192.0.2.1"), "alice")
	good.Done(false)
	for i := 1; i <= 100; i++ {
		failures(l, "198.51.100."+strconv.Itoa(i), "alice", 100)
	}
	if _, ok := l.Begin(netip.MustParseAddr("203.0.113.9"), "alice"); ok {
		t.Fatal("a new address was checked for a spent account")
	}
	if got := failures(l, "192.0.2.1", "alice", 100); got != PairBurst {
		t.Fatalf("trusted address: %d failures checked, want %d", got, PairBurst)
	}
	if _, ok := l.Begin(netip.MustParseAddr("192.0.2.1"), "alice"); ok {
		t.Fatal("trusted address past its own bucket was checked")
	}
	// Trust ends: with its pair bucket refilled, the address is refused
	// for the still spent account like anyone else.
	*at = at.Add(limits.Trust)
	if _, ok := l.Begin(netip.MustParseAddr("192.0.2.1"), "alice"); ok {
		t.Fatal("trust did not expire")
	}
}

// An abandoned attempt (the credentials could not be checked) costs
// nothing and earns no trust.
func TestAbandonCostsNothingAndTrustsNothing(t *testing.T) {
	l := New()
	fixedClock(l)
	for i := 0; i < 100; i++ {
		a, ok := l.Begin(netip.MustParseAddr("192.0.2.1"), "alice")
		if !ok {
			t.Fatalf("attempt %d limited after abandoned ones", i)
		}
		a.Abandon()
	}
	// The account's shared bucket runs out from elsewhere; a trusted source
	// would still be checked, an abandoned one is not.
	for i := 1; i <= 100; i++ {
		failures(l, "198.51.100."+strconv.Itoa(i), "alice", 100)
	}
	if _, ok := l.Begin(netip.MustParseAddr("192.0.2.1"), "alice"); ok {
		t.Fatal("an abandoned attempt earned its source trust")
	}
	if got := failures(l, "192.0.2.1", "bob", 100); got != PairBurst {
		t.Fatalf("%d failures for another account after abandoned ones, want %d", got, PairBurst)
	}
}
