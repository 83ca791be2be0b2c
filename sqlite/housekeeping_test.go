package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// TestHousekeepingPrunesEgressAndDeadLeases counts the rows themselves:
// egress keys older than two days and leases of a node that stopped are
// deleted by the housekeeping that follows a flush; current ones stay.
func TestHousekeepingPrunesEgressAndDeadLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subgate.db")
	s := openAt(t, path)
	ctx := context.Background()
	r := &subgate.Reseller{Name: "r"}
	if err := s.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: "res", Bytes: 1000}); err != nil {
		t.Fatal(err)
	}
	u := &subgate.SubUser{ResellerID: r.ID, Username: "u", Password: "pw12345", Status: subgate.StatusActive}
	if err := s.CreateSubUser(ctx, u, map[subgate.Product]int64{"res": 1000}, ""); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2031, 3, 14, 10, 0, 0, 0, time.UTC)
	flush := func(node string, now time.Time, egress string) {
		t.Helper()
		b := subgate.UsageBatch{ID: subgate.NewHash(), Node: node, Now: now, LeaseTTL: 5 * time.Minute,
			Egress: []subgate.EgressUse{{SubUserID: u.ID, Key: egress}}}
		if err := s.FlushUsage(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	flush("a", t0, "old-ip")
	for _, node := range []string{"dead", "alive"} {
		if _, err := s.AcquireLease(ctx, subgate.LeaseRequest{Node: node, SubUserID: u.ID, Product: "res", Want: 10, TTL: time.Minute, Now: t0.Add(72 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// Only the live node keeps flushing, which renews its lease.
	flush("alive", t0.Add(72*time.Hour+50*time.Second), "new-ip")
	flush("alive", t0.Add(72*time.Hour+2*time.Minute), "new-ip")

	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var egress, leases int
	var node string
	if err := db.QueryRow(`SELECT count(*) FROM egress`).Scan(&egress); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*), max(node) FROM leases`).Scan(&leases, &node); err != nil {
		t.Fatal(err)
	}
	if egress != 1 || leases != 1 || node != "alive" {
		t.Fatalf("%d egress rows and %d leases (%s), want the new key and the live node's lease only", egress, leases, node)
	}
}
