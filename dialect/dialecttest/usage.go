package dialecttest

import (
	"context"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// RecordUsage meters bytes of a sub-user on a balance the way a gateway node
// does: it leases them from the store and flushes them as used at now. It
// returns the bytes the store granted (and charged).
func (e *Env) RecordUsage(t testing.TB, subUserID int64, product subgate.Product, bytes int64, now time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	const node = "test-node"
	granted, err := e.Store.AcquireLease(ctx, subgate.LeaseRequest{
		Node: node, SubUserID: subUserID, Product: product, Want: bytes,
		TTL: time.Minute, Now: now, Windows: e.Svc.Windows,
	})
	if err != nil {
		t.Fatal(err)
	}
	if granted == 0 {
		return 0
	}
	err = e.Store.FlushUsage(ctx, subgate.UsageBatch{
		ID: subgate.NewHash(), Node: node, Now: now, Windows: e.Svc.Windows, LeaseTTL: time.Minute,
		Items:  []subgate.UsageItem{{SubUserID: subUserID, Product: product, Hour: subgate.HourOf(now), Bytes: granted}},
		Egress: []subgate.EgressUse{{SubUserID: subUserID, Key: "203.0.113.7"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return granted
}

// CheckInvariant fails the test unless, for every product of the reseller,
// pool + available + used equals credited − debited and the balances agree
// with the ledger.
func (e *Env) CheckInvariant(t testing.TB, resellerID int64) map[subgate.Product]subgate.AuditLine {
	t.Helper()
	lines, err := e.Store.Audit(context.Background(), resellerID)
	if err != nil {
		t.Fatal(err)
	}
	for p, l := range lines {
		if l.Pool+l.Available+l.Used != l.Credited-l.Debited {
			t.Errorf("product %s: pool %d + available %d + used %d != credited %d - debited %d",
				p, l.Pool, l.Available, l.Used, l.Credited, l.Debited)
		}
		if l.Pool != l.LedgerPool || l.Available != l.LedgerAvailable || l.Used != l.LedgerUsed {
			t.Errorf("product %s: balances %d/%d/%d disagree with ledger %d/%d/%d",
				p, l.Pool, l.Available, l.Used, l.LedgerPool, l.LedgerAvailable, l.LedgerUsed)
		}
	}
	return lines
}

// RunAtNoon puts the service on a clock that starts at noon UTC of the
// current day and runs at the wall clock's pace, so that usage recorded at
// e.Svc.Now() is still in the day window when the test reads it back, even
// when the test runs across midnight. Call it before the first request.
func (e *Env) RunAtNoon() {
	start := time.Now()
	noon := start.UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	e.Svc.Now = func() time.Time { return noon.Add(time.Since(start)) }
}
