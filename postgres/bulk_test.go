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
	db := newTestDB(t)
	f := newFixture(t, db.open(t), 1000, 0)
	ctx, cancel := context.WithTimeout(f.ctx, 60*time.Second)
	defer cancel()
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
	var us []*subgate.SubUser
	for i := range 3 {
		u := newSubUser(f.r.ID, fmt.Sprintf("overtaken_%d_%s", i, subgate.NewHash()))
		if err := f.st.CreateSubUser(ctx, u, nil, ""); err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
	}
	after, err := f.st.SubUsersSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lastSeq := func() (n int64) {
		if err := db.admin.QueryRow(ctx, `SELECT last_value FROM `+db.schema+`.subuser_seq`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	drawn := lastSeq()
	slow := "slow"
	bulkDone := make(chan error, 1)
	go func() {
		b := subgate.SubUserBulkUpdate{Refs: []string{fmt.Sprint(us[0].ID), fmt.Sprint(us[1].ID)}, Update: subgate.SubUserUpdate{Note: &slow}}
		_, err := f.st.UpdateSubUsers(ctx, 0, b, func(*subgate.SubUser) error { return nil }, time.Now())
		bulkDone <- err
	}()
	// The bulk draws both Seqs before its triggers sleep (after the statement).
	for lastSeq() < drawn+2 {
		time.Sleep(5 * time.Millisecond)
	}
	fast := "fast"
	if _, err := f.st.UpdateSubUser(ctx, 0, us[2].ID, subgate.SubUserUpdate{Note: &fast}, time.Now()); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{}
	read := func() {
		changes, err := f.st.SubUsersChanged(ctx, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			after, seen[c.ID] = c.Seq, c.Note
		}
	}
	read()
	if err := <-bulkDone; err != nil {
		t.Fatal(err)
	}
	read()
	if seen[us[0].ID] != "slow" || seen[us[1].ID] != "slow" || seen[us[2].ID] != "fast" {
		t.Fatalf("the reader saw %v: a change was missed", seen)
	}
}
