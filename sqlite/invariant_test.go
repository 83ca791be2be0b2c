package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/storetest"
)

// recorder collects what CheckInvariant reports instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

// TestInvariantCheckDetectsDrift shows CheckInvariant fails when a balance
// moves without a ledger entry, so the suite's checks can fail.
func TestInvariantCheckDetectsDrift(t *testing.T) {
	c, err := secret.New(bytes.Repeat([]byte{4}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(t.TempDir(), "drift.db"), c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	r := &subgate.Reseller{Name: "r"}
	if err := s.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: "res", Bytes: 1000}); err != nil {
		t.Fatal(err)
	}
	u := &subgate.SubUser{ResellerID: r.ID, Username: "drift", Password: "pw12345", Status: subgate.StatusActive}
	if err := s.CreateSubUser(ctx, u, map[subgate.Product]int64{"res": 400}, ""); err != nil {
		t.Fatal(err)
	}
	clean := &recorder{TB: t}
	storetest.CheckInvariant(clean, s, r.ID)
	if len(clean.errs) != 0 {
		t.Fatalf("a consistent store fails the check: %v", clean.errs)
	}
	if _, err := s.write.DB.ExecContext(ctx, `UPDATE balances SET used = used + 1 WHERE subuser_id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	drifted := &recorder{TB: t}
	storetest.CheckInvariant(drifted, s, r.ID)
	if len(drifted.errs) == 0 {
		t.Fatal("a byte without a ledger entry went unnoticed")
	}
}
