package gateway_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// credReads counts the credential reads a gateway makes from the real
// store, by kind.
type credReads struct {
	subgate.Store
	byName, byID, seqs atomic.Int64
	changesFrom        sync.Map // after argument of SubUsersChanged → true
}

func (s *credReads) SubUserByUsername(ctx context.Context, name string) (*subgate.SubUser, error) {
	s.byName.Add(1)
	return s.Store.SubUserByUsername(ctx, name)
}

func (s *credReads) SubUser(ctx context.Context, scope subgate.Scope, ref string) (*subgate.SubUser, error) {
	s.byID.Add(1)
	return s.Store.SubUser(ctx, scope, ref)
}

func (s *credReads) SubUsersSeq(ctx context.Context) (int64, error) {
	s.seqs.Add(1)
	return s.Store.SubUsersSeq(ctx)
}

func (s *credReads) SubUsersChanged(ctx context.Context, after int64, limit int) ([]*subgate.SubUser, error) {
	s.changesFrom.Store(after, true)
	return s.Store.SubUsersChanged(ctx, after, limit)
}

// lowestChangesFrom is the lowest Seq the gateway read changes after.
func (s *credReads) lowestChangesFrom() int64 {
	lowest := int64(-1)
	s.changesFrom.Range(func(k, _ any) bool {
		if a := k.(int64); lowest < 0 || a < lowest {
			lowest = a
		}
		return true
	})
	return lowest
}

func withCredReads(reads **credReads, size int) envOption {
	return func(c *gateway.Config) {
		*reads = &credReads{Store: c.Store}
		c.Store, c.PollInterval, c.CredCacheSize = *reads, time.Hour, size
	}
}

// A sub-user the gateway does not hold authenticates with one store read,
// and is held after.
func TestUnheldSubUserLoadsOnce(t *testing.T) {
	var reads *credReads
	e := newEnv(t, withCredReads(&reads, 100))
	bob := e.createUser("bob", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	if e.gw.CredHeld(bob.ID) {
		t.Fatal("bob held before anyone logged in as bob")
	}
	for i := range 3 {
		if code := codeFrom(t, e, loopback(1), "bob", testPassword); code != "" {
			t.Fatalf("login %d: %s", i, code)
		}
	}
	if n := reads.byName.Load(); n != 1 {
		t.Fatalf("3 logins read bob %d times, want once", n)
	}
	if !e.gw.CredHeld(bob.ID) {
		t.Fatal("bob not held after logging in")
	}
}

// An unknown username is read once; then its absence is remembered, and
// when it is created it authenticates at once.
func TestUnknownUsernameRememberedUntilCreated(t *testing.T) {
	var reads *credReads
	e := newEnv(t, withCredReads(&reads, 100))
	for i := range 5 {
		if code := codeFrom(t, e, loopback(1), "nobody", testPassword); code != subgate.ReasonAuth {
			t.Fatalf("unknown username, try %d: %q", i, code)
		}
	}
	if n := reads.byName.Load(); n != 1 {
		t.Fatalf("5 tries of an unknown username read it %d times, want once", n)
	}
	e.createUser("nobody", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	if code := codeFrom(t, e, loopback(2), "nobody", testPassword); code != "" {
		t.Fatalf("created a moment ago: %q", code)
	}
}

// At the bound, eviction never takes a sub-user with a live tunnel, and
// enforcement still cuts that tunnel on a change.
func TestEvictionSparesLiveSubUsers(t *testing.T) {
	var reads *credReads
	const size = 2
	e := newEnv(t, withCredReads(&reads, size))
	alice := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, _ := holdDownload(t, e, "alice", 1000)
	defer c.Close()
	for i := range 3 * size {
		name := "other" + strconv.Itoa(i)
		e.createUser(name, map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
		// A wrong password loads the sub-user but opens no session.
		if code := codeFrom(t, e, loopback(2+i), name, "wrong"); code != subgate.ReasonAuth {
			t.Fatalf("%s with a wrong password: %q", name, code)
		}
		if !e.gw.CredHeld(alice.ID) {
			t.Fatalf("alice, with a live tunnel, evicted after %d other logins", i+1)
		}
	}
	if n := e.gw.CredHeldCount(); n > size+1 {
		t.Fatalf("%d sub-users held, want at most %d and alice", n, size)
	}
	before := reads.byName.Load()
	if code := codeFrom(t, e, loopback(1), "alice", testPassword); code != "" {
		t.Fatalf("alice again: %q", code)
	}
	if reads.byName.Load() != before {
		t.Fatal("alice was read from the store again")
	}
	disabled := subgate.StatusDisabled
	if _, err := e.svc.UpdateSubUser(context.Background(), admin, fmt.Sprint(alice.ID), subgate.SubUserUpdate{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	cutWithin(t, c, patience)
}

// A sub-user disabled while the gateway did not hold it is refused at its
// next login.
func TestDisabledWhileUnheldIsRefused(t *testing.T) {
	var reads *credReads
	e := newEnv(t, withCredReads(&reads, 1))
	bob := e.createUser("bob", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	e.createUser("carol", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	// Held by a failed login (no session), then evicted by carol's.
	if code := codeFrom(t, e, loopback(1), "bob", "wrong"); code != subgate.ReasonAuth {
		t.Fatalf("bob with a wrong password: %q", code)
	}
	if code := codeFrom(t, e, loopback(2), "carol", "wrong"); code != subgate.ReasonAuth {
		t.Fatalf("carol with a wrong password: %q", code)
	}
	if e.gw.CredHeld(bob.ID) {
		t.Fatal("bob still held at a bound of 1")
	}
	disabled := subgate.StatusDisabled
	if _, err := e.svc.UpdateSubUser(context.Background(), admin, fmt.Sprint(bob.ID), subgate.SubUserUpdate{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	if code := codeFrom(t, e, loopback(3), "bob", testPassword); code != subgate.ReasonDisabled {
		t.Fatalf("bob, disabled while not held: %q", code)
	}
}

// A gateway started on a store with many sub-users reads where the change
// sequence stands, not every sub-user, and serves one of them on demand.
func TestStartDoesNotLoadEverySubUser(t *testing.T) {
	var reads *credReads
	e := newEnv(t, withCredReads(&reads, 100))
	const n = 300
	for i := range n {
		e.createUser("seeded"+strconv.Itoa(i), map[subgate.Product]int64{subgate.ProductAny: gb / 1000}, nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := e.gw.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	seq, err := e.store.SubUsersSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.startGateway(withCredReads(&reads, 100))
	if reads.seqs.Load() != 1 {
		t.Fatalf("start read the change sequence %d times, want once", reads.seqs.Load())
	}
	if n := e.gw.CredHeldCount(); n != 0 {
		t.Fatalf("%d sub-users held at start, want none (none allow-lists an IP)", n)
	}
	c, bad := e.connect("seeded150", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("CONNECT refused: %d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
	}
	resp, _ := getOver(t, c, e.origin.addr, "/bytes?n=100")
	io.Copy(io.Discard, resp.Body)
	c.Close()
	if from := reads.lowestChangesFrom(); from >= 0 && from < seq {
		t.Fatalf("read changes after Seq %d, below the %d it started at: a full load", from, seq)
	}
	if n := e.gw.CredHeldCount(); n != 1 {
		t.Fatalf("%d sub-users held after one login, want 1", n)
	}
}
