package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// A change committed on one node is heard by another node of the same
// installation with its Seq; changes of an installation in another schema
// of the same database are not (NOTIFY channels are database-wide).
func TestListenChangesHearsCommittedChanges(t *testing.T) {
	db := newTestDB(t)
	listener, writer := db.open(t), db.open(t) // two nodes on one database
	f := newFixture(t, writer, 1000, 0)
	// The other installation's Seqs are far above ours, so hearing one
	// shows as a Seq beyond our latest change.
	other := newTestDB(t)
	neighbour := newFixture(t, other.open(t), 1000, 0)
	if _, err := other.admin.Exec(context.Background(), `ALTER SEQUENCE `+other.schema+`.subuser_seq RESTART WITH 1000000`); err != nil {
		t.Fatal(err)
	}
	note := "hello"
	changeNeighbour := func() {
		t.Helper()
		if _, err := neighbour.st.UpdateSubUser(context.Background(), 0, neighbour.u.ID, subgate.SubUserUpdate{Note: &note}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	heard := make(chan int64, 100)
	done := make(chan error, 1)
	go func() { done <- listener.ListenChanges(ctx, func(seq int64) { heard <- seq }) }()

	deadline := time.After(10 * time.Second)
	// Listening proves itself with a notification of Seq 0 to its own
	// session, before any change.
	select {
	case seq := <-heard:
		if seq != 0 {
			t.Fatalf("first heard seq %d, want the listener's own probe, 0", seq)
		}
	case <-deadline:
		t.Fatal("the listener heard nothing of its own within 10 s")
	}
	changeNeighbour()
	u, err := writer.UpdateSubUser(context.Background(), 0, f.u.ID, subgate.SubUserUpdate{Note: &note}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case seq := <-heard:
		if seq != u.Seq {
			t.Fatalf("heard seq %d, latest change is %d (the neighbour's change committed first)", seq, u.Seq)
		}
	case <-deadline:
		t.Fatal("no change heard within 10 s")
	}
	// Now a change on one node is heard by the other with its Seq.
	changeNeighbour()
	u, err = writer.Transfer(context.Background(), subgate.Transfer{SubUserID: f.u.ID, Product: subgate.ProductResidential, Bytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	for got := int64(0); got != u.Seq; {
		select {
		case got = <-heard:
			if got > u.Seq {
				t.Fatalf("heard seq %d from another schema; latest change is %d", got, u.Seq)
			}
		case <-deadline:
			t.Fatalf("the transfer's seq %d was not heard", u.Seq)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("ListenChanges ended with %v, want context.Canceled", err)
	}
}
