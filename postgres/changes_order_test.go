package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// A change in flight whose transaction got its xid after the last one that
// completed is outside the reader's snapshot's list of running xids (it is at
// or above the snapshot's xmax), yet it holds a Seq below one already
// committed: the reader must still hold that later Seq back.
func TestChangeInFlightAboveSnapshotXmaxHoldsLaterSeqsBack(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &subgate.Reseller{Name: "acme"}
	if err := st.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	first, second := newSubUser(r.ID, "first_"+subgate.NewHash()[20:]), newSubUser(r.ID, "second_"+subgate.NewHash()[20:])
	for _, u := range []*subgate.SubUser{first, second} {
		if err := st.CreateSubUser(ctx, u, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	after, err := st.SubUsersSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn := func() *pgx.Conn {
		c, err := pgx.Connect(ctx, db.url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	exec := func(c *pgx.Conn, sql string, args ...any) {
		t.Helper()
		if _, err := c.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	change := func(c *pgx.Conn, id int64) { // what seqSteps send
		exec(c, `UPDATE change_stripes SET seq = (SELECT last_value FROM subuser_seq) WHERE stripe = $1`, id%128)
		exec(c, `UPDATE subusers SET seq = nextval('subuser_seq') WHERE id = $1`, id)
	}
	older, newer := conn(), conn()
	exec(older, `BEGIN`)
	exec(older, `SELECT pg_current_xact_id()`) // the lower xid
	exec(newer, `BEGIN`)
	change(newer, second.ID) // the higher xid draws the lower Seq and stays in flight
	change(older, first.ID)  // the lower xid draws the higher Seq and commits
	exec(older, `COMMIT`)

	got, err := st.SubUsersChanged(ctx, after, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("with a lower Seq in flight the reader got %v; going on after it would miss that change", ids(got))
	}
	exec(newer, `COMMIT`)
	got, err = st.SubUsersChanged(ctx, after, 10)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(got)) != fmt.Sprint([]int64{second.ID, first.ID}) {
		t.Fatalf("after both committed the reader got %v, want %v", ids(got), []int64{second.ID, first.ID})
	}
}

// The sequence numbering changes hands out values one at a time, never from
// a per-session cache: a change records its last_value when it locks its
// stripe and must draw above it (see seqSteps).
func TestSubUserSeqIsNotCached(t *testing.T) {
	db := newTestDB(t)
	db.open(t)
	var cache int64
	err := db.admin.QueryRow(context.Background(), `SELECT cache_size FROM pg_sequences
		WHERE schemaname = $1 AND sequencename = 'subuser_seq'`, db.schema).Scan(&cache)
	if err != nil {
		t.Fatal(err)
	}
	if cache != 1 {
		t.Fatalf("subuser_seq caches %d values per session, want 1", cache)
	}
}
