package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// A bulk update whose commit is slow (a trigger sleeps after its Seqs are
// drawn) holds back a single change numbered after it and committed first:
// a reader going on after the highest Seq it got still gets the bulk's.
func TestBulkChangesNotMissedWhenASingleOvertakes(t *testing.T) {
	o := newOvertaking(t)
	slow := "slow"
	us := o.subUsers(subgate.FundingAllocated, subgate.FundingAllocated)
	o.check(us, func(ctx context.Context) error {
		b := subgate.SubUserBulkUpdate{Refs: []string{fmt.Sprint(us[0].ID), fmt.Sprint(us[1].ID)}, Update: subgate.SubUserUpdate{Note: &slow}}
		_, err := o.f.st.UpdateSubUsers(ctx, 0, b, func(*subgate.SubUser) error { return nil }, time.Now())
		return err
	})
}

// The same for a pool credit that wakes a reseller's shared sub-users: it
// holds one change stripe, not theirs, and that must be enough.
func TestPoolWakeNotMissedWhenASingleOvertakes(t *testing.T) {
	o := newOvertaking(t)
	us := o.subUsers(subgate.FundingShared, subgate.FundingShared)
	o.check(us, func(ctx context.Context) error {
		_, err := o.f.st.CreditPool(ctx, subgate.PoolCredit{ResellerID: o.f.r.ID, Product: subgate.ProductResidential, Bytes: 1000})
		return err
	})
}

// overtaking sets up a change whose commit is slow: every update of the Seq
// of a sub-user whose note is "slow" sleeps 1 s before its statement ends.
type overtaking struct {
	t      *testing.T
	ctx    context.Context
	db     *testDB
	f      *fixture
	single *subgate.SubUser
}

func newOvertaking(t *testing.T) *overtaking {
	db := newTestDB(t)
	f := newFixture(t, db.open(t), 1000, 0)
	ctx, cancel := context.WithTimeout(f.ctx, 60*time.Second)
	t.Cleanup(cancel)
	for _, q := range []string{
		`CREATE FUNCTION ` + db.schema + `.slow_commit() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$`,
		`CREATE TRIGGER slow_commit AFTER UPDATE OF seq ON ` + db.schema + `.subusers
			FOR EACH ROW WHEN (NEW.note = 'slow') EXECUTE FUNCTION ` + db.schema + `.slow_commit()`,
	} {
		if _, err := db.admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	o := &overtaking{t: t, ctx: ctx, db: db, f: f}
	o.single = o.subUsers(subgate.FundingAllocated)[0]
	return o
}

// subUsers creates one sub-user per funding mode given, noted "slow" when
// shared (a bulk update sets the note itself).
func (o *overtaking) subUsers(modes ...subgate.Funding) []*subgate.SubUser {
	var us []*subgate.SubUser
	for i, m := range modes {
		u := newSubUser(o.f.r.ID, fmt.Sprintf("overtaken_%d_%s", i, subgate.NewHash()))
		u.Funding = m
		if m == subgate.FundingShared {
			u.Note = "slow"
		}
		if err := o.f.st.CreateSubUser(o.ctx, u, nil, ""); err != nil {
			o.t.Fatal(err)
		}
		us = append(us, u)
	}
	return us
}

// check runs slowChange, which must draw a Seq for each of us, commits a
// single change of another sub-user while it sleeps, and reads the feed
// during and after: every change of us must be read after the single one's.
func (o *overtaking) check(us []*subgate.SubUser, slowChange func(context.Context) error) {
	t, ctx, st := o.t, o.ctx, o.f.st
	after, err := st.SubUsersSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lastSeq := func() (n int64) {
		if err := o.db.admin.QueryRow(ctx, `SELECT last_value FROM `+o.db.schema+`.subuser_seq`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	drawn := lastSeq()
	done := make(chan error, 1)
	go func() { done <- slowChange(ctx) }()
	// The slow change draws its Seqs before its triggers sleep (after the statement).
	for lastSeq() < drawn+int64(len(us)) {
		time.Sleep(5 * time.Millisecond)
	}
	fast := "fast"
	if _, err := st.UpdateSubUser(ctx, 0, o.single.ID, subgate.SubUserUpdate{Note: &fast}, time.Now()); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int64{}
	read := func() {
		changes, err := st.SubUsersChanged(ctx, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			after, seen[c.ID] = c.Seq, c.Seq
		}
	}
	read()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	read()
	for _, u := range append(us, o.single) {
		if seen[u.ID] <= drawn {
			t.Fatalf("the reader saw %v after Seq %d: the change of sub-user %d was missed", seen, drawn, u.ID)
		}
	}
}
