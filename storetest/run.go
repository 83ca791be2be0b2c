// Package storetest is the contract suite every subgate.Store passes: the
// rules of store.go and STORE_CONTRACT.md, checked against a real database.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// Run runs the whole contract suite. open must return a fresh, empty store
// for each subtest (and arrange its own cleanup).
func Run(t *testing.T, open func(t *testing.T) subgate.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Settings", settingsTests},
		{"Resellers", resellerTests},
		{"Tokens", tokenTests},
		{"Pools", poolTests},
		{"AmountLimits", amountLimitTests},
		{"SubUsers", subUserTests},
		{"Updates", updateTests},
		{"BulkUpdates", bulkTests},
		{"Transfers", transferTests},
		{"Delete", deleteTests},
		{"List", listTests},
		{"Ledger", ledgerTests},
		{"Changes", changeTests},
		{"ChangesStart", changeStartTests},
		{"Leases", leaseTests},
		{"Flush", flushTests},
		{"Egress", egressTests},
		{"Slots", slotTests},
		{"Overdraft", overdraftTests},
		{"Housekeeping", housekeepingTests},
		{"Usage", usageTests},
		{"Idempotency", idempotencyTests},
		{"IdempotencyRecords", idempotencyRecordTests},
		{"Concurrency", concurrencyTests},
		{"ServiceRules", serviceRuleTests},
		{"UpdateTraffic", updateTrafficTests},
		{"StaticIPOnce", staticIPOnceTests},
		{"StoredRoutes", storedRoutesTests},
		{"Shared", sharedTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, newEnv(t, open(t)))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, e *env)
}

// env is one subtest's store with helpers that fail the test on error.
type env struct {
	t   testing.TB
	s   subgate.Store
	ctx context.Context
	svc *subgate.Service
}

func newEnv(t testing.TB, s subgate.Store) *env {
	return &env{t: t, s: s, ctx: context.Background(), svc: subgate.NewService(s)}
}

var uniq atomic.Int64

// name returns a unique name with a readable prefix.
func name(prefix string) string { return fmt.Sprintf("%s%d", prefix, uniq.Add(1)) }

var admin = subgate.Principal{Admin: true}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// wantCode fails unless err carries the domain error code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := subgate.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	var de *subgate.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *subgate.Error", err)
	}
}

// reseller creates a reseller whose pools hold the given bytes.
func (e *env) reseller(pools map[subgate.Product]int64) *subgate.Reseller {
	e.t.Helper()
	r := &subgate.Reseller{Name: name("reseller")}
	e.must(e.s.CreateReseller(e.ctx, r))
	for p, b := range pools {
		var err error
		r, err = e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: r.ID, Product: p, Bytes: b})
		e.must(err)
	}
	return r
}

// subUser creates an active sub-user with initial traffic.
func (e *env) subUser(resellerID int64, initial map[subgate.Product]int64) *subgate.SubUser {
	e.t.Helper()
	u := &subgate.SubUser{ResellerID: resellerID, Hash: subgate.NewHash(), Username: name("user"),
		Password: subgate.NewProxyPassword(), Status: subgate.StatusActive}
	e.must(e.s.CreateSubUser(e.ctx, u, initial, ""))
	return u
}

// get reads a live sub-user by id with the admin's scope.
func (e *env) get(id int64) *subgate.SubUser {
	e.t.Helper()
	u, err := e.s.SubUser(e.ctx, 0, fmt.Sprint(id))
	e.must(err)
	return u
}

func (e *env) pool(resellerID int64, p subgate.Product) int64 {
	e.t.Helper()
	r, err := e.s.Reseller(e.ctx, resellerID)
	e.must(err)
	return r.Pools[p]
}

func (e *env) transfer(u *subgate.SubUser, p subgate.Product, b int64, key string) (*subgate.SubUser, error) {
	return e.s.Transfer(e.ctx, subgate.Transfer{Scope: subgate.Scope(u.ResellerID), SubUserID: u.ID, Product: p, Bytes: b, IdempotencyKey: key})
}

func (e *env) lease(node string, id int64, p subgate.Product, want int64, ttl time.Duration, now time.Time) int64 {
	e.t.Helper()
	g, err := e.s.AcquireLease(e.ctx, subgate.LeaseRequest{Node: node, SubUserID: id, Product: p, Want: want, TTL: ttl, Now: now})
	e.must(err)
	return g
}

// flush applies a batch from node with a fresh ID and returns the ID.
func (e *env) flush(node string, now time.Time, items []subgate.UsageItem, release []subgate.LeaseRelease) string {
	e.t.Helper()
	b := subgate.UsageBatch{ID: subgate.NewHash(), Node: node, Now: now, Items: items, Release: release, LeaseTTL: time.Minute}
	e.must(e.s.FlushUsage(e.ctx, b))
	return b.ID
}

func use(id int64, p subgate.Product, hour time.Time, b int64) subgate.UsageItem {
	return subgate.UsageItem{SubUserID: id, Product: p, Hour: subgate.HourOf(hour), Bytes: b}
}

func (e *env) ledger(f subgate.LedgerFilter) []*subgate.LedgerEntry {
	e.t.Helper()
	l, err := e.s.Ledger(e.ctx, f)
	e.must(err)
	return l
}

// traffic fails unless the sub-user's balance on p is as given.
func (e *env) traffic(id int64, p subgate.Product, available, used int64) {
	e.t.Helper()
	if got := e.get(id).Traffic[p]; got != (subgate.Traffic{Available: available, Used: used}) {
		e.t.Fatalf("traffic[%s] of sub-user %d = %+v, want available %d used %d", p, id, got, available, used)
	}
}

const (
	res  = subgate.ProductResidential
	dc   = subgate.ProductDatacenter
	star = subgate.ProductAny
)

// t0 is a fixed moment for tests that drive lease and flush clocks themselves.
var t0 = time.Date(2031, 3, 14, 10, 30, 0, 0, time.UTC)
