package storetest

import (
	"context"
	"testing"

	"github.com/subgate/subgate"
)

// CheckInvariant fails t unless, for every product of the reseller, pool +
// available + used equals credited − debited to the byte, and the balances
// agree with the ledger's independent sums.
func CheckInvariant(t testing.TB, s subgate.Store, resellerID int64) {
	t.Helper()
	audit, err := s.Audit(context.Background(), resellerID)
	if err != nil {
		t.Fatalf("audit reseller %d: %v", resellerID, err)
	}
	for p, l := range audit {
		if l.Pool+l.Available+l.Used != l.Credited-l.Debited {
			t.Errorf("reseller %d product %s: pool %d + available %d + used %d = %d, credited %d − debited %d = %d",
				resellerID, p, l.Pool, l.Available, l.Used, l.Pool+l.Available+l.Used, l.Credited, l.Debited, l.Credited-l.Debited)
		}
		if l.LedgerPool != l.Pool || l.LedgerAvailable != l.Available || l.LedgerUsed != l.Used {
			t.Errorf("reseller %d product %s: balances (pool %d, available %d, used %d) disagree with the ledger (%d, %d, %d)",
				resellerID, p, l.Pool, l.Available, l.Used, l.LedgerPool, l.LedgerAvailable, l.LedgerUsed)
		}
		if l.Pool < 0 || l.Available < 0 || l.Used < 0 || l.Leased < 0 {
			t.Errorf("reseller %d product %s: negative balance %+v", resellerID, p, l)
		}
	}
}
