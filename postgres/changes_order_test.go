package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/storetest"
)

// Changes numbered in one order commit in another when their commits are
// slow (a trigger sleeps after the Seq is drawn); a reader going on after the
// highest Seq it got still gets every one of them.
func TestChangesNotMissedWhenCommitsOvertake(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, q := range []string{
		`CREATE FUNCTION ` + db.schema + `.slow_commit() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN PERFORM pg_sleep(random() * 0.02); RETURN NEW; END $$`,
		`CREATE TRIGGER slow_commit AFTER UPDATE OF seq ON ` + db.schema + `.subusers
			FOR EACH ROW EXECUTE FUNCTION ` + db.schema + `.slow_commit()`,
	} {
		if _, err := db.admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	r := &subgate.Reseller{Name: "acme"}
	if err := st.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	storetest.CheckNoCreateMissed(t, st, r.ID, 6, 15)
}

// Creating, changing and deleting sub-users without traffic rewrites
// neither the reseller's row nor its pools: every change of a reseller's
// sub-users would otherwise queue on them and leave dead row versions.
func TestSubUserChangesLeaveResellerAndPoolRows(t *testing.T) {
	db := newTestDB(t)
	f := newFixture(t, db.open(t), 1000, 0)
	versions := func() string {
		t.Helper()
		var v string
		err := db.admin.QueryRow(f.ctx, `SELECT (SELECT xmin::text FROM `+db.schema+`.resellers WHERE id = $1) || ' ' ||
			(SELECT string_agg(xmin::text, ',' ORDER BY product) FROM `+db.schema+`.pools WHERE reseller_id = $1)`, f.r.ID).Scan(&v)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := versions()
	note := "changed"
	for i := range 3 {
		u := newSubUser(f.r.ID, fmt.Sprintf("quiet_%d_%s", i, subgate.NewHash()))
		if err := f.st.CreateSubUser(f.ctx, u, nil, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.UpdateSubUser(f.ctx, 0, u.ID, subgate.SubUserUpdate{Note: &note}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := f.st.DeleteSubUser(f.ctx, 0, u.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if after := versions(); after != before {
		t.Fatalf("reseller and pool row versions went from %s to %s", before, after)
	}
	if n, err := f.st.CountSubUsers(f.ctx, f.r.ID); err != nil || n != 1 {
		t.Fatalf("CountSubUsers = %d, %v; want 1 (the fixture's)", n, err)
	}
}
