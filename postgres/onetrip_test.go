package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// An update sent with its BEGIN and COMMIT in one round trip commits
// nothing when one of its statements fails, and leaves its connection fit
// for the next transaction (the pool here has one).
func TestOneTripUpdateFailsWhole(t *testing.T) {
	db := newTestDB(t)
	db.url += "&pool_max_conns=1"
	st := db.open(t)
	f := newFixture(t, st, 1000, 0)
	ctx := context.Background()
	other := newSubUser(f.r.ID, "bob_"+subgate.NewHash()[20:])
	if err := st.CreateSubUser(ctx, other, nil, ""); err != nil {
		t.Fatal(err)
	}
	before, err := st.SubUser(ctx, 0, f.u.Hash)
	if err != nil {
		t.Fatal(err)
	}

	// The note comes before the username in the same statement: both or neither.
	note := "not kept"
	_, err = st.UpdateSubUser(ctx, 0, f.u.ID, subgate.SubUserUpdate{Note: &note, Username: &other.Username}, time.Now())
	if subgate.ErrorCode(err) != subgate.ECONFLICT {
		t.Fatalf("taken username: got %v, want ECONFLICT", err)
	}
	after, err := st.SubUser(ctx, 0, f.u.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if after.Note != before.Note || after.Seq != before.Seq || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("failed update left note %q seq %d updated %v, want %q %d %v",
			after.Note, after.Seq, after.UpdatedAt, before.Note, before.Seq, before.UpdatedAt)
	}

	// Another reseller's scope and a deleted sub-user are not found, and
	// change nothing.
	if _, err := st.UpdateSubUser(ctx, subgate.Scope(f.r.ID+1), f.u.ID, subgate.SubUserUpdate{Note: &note}, time.Now()); subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Fatalf("other scope: got %v, want ENOTFOUND", err)
	}
	if err := st.DeleteSubUser(ctx, 0, other.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateSubUser(ctx, 0, other.ID, subgate.SubUserUpdate{Note: &note}, time.Now()); subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Fatalf("deleted: got %v, want ENOTFOUND", err)
	}
	changed, err := st.SubUsersChanged(ctx, before.Seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].ID != other.ID || changed[0].DeletedAt == nil || changed[0].Note == note {
		t.Fatalf("changes after the failed updates: %+v, want only the delete", changed)
	}

	// The one connection is fit for the next change, which applies whole.
	kept := "kept"
	got, err := st.UpdateSubUser(ctx, 0, f.u.ID, subgate.SubUserUpdate{Note: &kept}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Note != kept || got.Seq <= changed[0].Seq {
		t.Fatalf("next update: note %q seq %d, want %q above %d", got.Note, got.Seq, kept, changed[0].Seq)
	}
}
