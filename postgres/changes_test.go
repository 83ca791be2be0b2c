package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func TestListenChangesHearsCommittedChanges(t *testing.T) {
	db := newTestDB(t)
	listener, writer := db.open(t), db.open(t) // two nodes on one database
	f := newFixture(t, writer, 1000, 0)
	ctx, cancel := context.WithCancel(context.Background())
	heard := make(chan int64, 100)
	done := make(chan error, 1)
	go func() { done <- listener.ListenChanges(ctx, func(seq int64) { heard <- seq }) }()

	note := "hello"
	deadline := time.After(10 * time.Second)
	// Listening starts asynchronously: change until a change is heard.
	for listening := false; !listening; {
		u, err := writer.UpdateSubUser(context.Background(), 0, f.u.ID, subgate.SubUserUpdate{Note: &note}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		select {
		case seq := <-heard:
			if seq <= 0 || seq > u.Seq {
				t.Fatalf("heard seq %d, latest change is %d", seq, u.Seq)
			}
			listening = true
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("no change heard within 10 s")
		}
	}
	// Now a change on one node is heard by the other with its Seq.
	u, err := writer.Transfer(context.Background(), subgate.Transfer{SubUserID: f.u.ID, Product: subgate.ProductResidential, Bytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	for got := int64(0); got != u.Seq; {
		select {
		case got = <-heard:
		case <-deadline:
			t.Fatalf("the transfer's seq %d was not heard", u.Seq)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("ListenChanges ended with %v, want context.Canceled", err)
	}
}
