package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/pgtest"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/storetest"
)

// openBehindPgBouncer opens a store on a fresh schema whose pooled
// connections go through PgBouncer in transaction mode, with the LISTEN
// session and migrations direct, as README "Many nodes on one PostgreSQL"
// describes.
func openBehindPgBouncer(t testing.TB, binary string) *postgres.Store {
	t.Helper()
	db := newTestDB(t)
	pb := pgtest.StartPgBouncer(t, binary, db.schema, 4)
	st, err := postgres.OpenWith(context.Background(), pb.URL, testCipher(t), postgres.Options{SessionURL: db.url})
	if err != nil {
		t.Fatalf("open behind PgBouncer: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestContractBehindPgBouncer runs the shared store suite with the pooled
// connections behind PgBouncer in transaction mode: nothing may rely on
// session state of a pooled connection (named prepared statements, SET,
// session advisory locks, LISTEN). It needs a PgBouncer binary
// (SUBGATE_TEST_PGBOUNCER names its binary) and says so otherwise.
func TestContractBehindPgBouncer(t *testing.T) {
	binary := pgtest.BouncerBinary()
	if binary == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs the store suite behind PgBouncer: set SUBGATE_TEST_PGBOUNCER to its binary")
		}
		t.Skip("set SUBGATE_TEST_PGBOUNCER to a PgBouncer binary to run the store suite behind it")
	}
	open := func(t *testing.T) subgate.Store { return openBehindPgBouncer(t, binary) }
	storetest.Run(t, open)
	storetest.RunExtra(t, open)
	t.Run("ChangesHeard", func(t *testing.T) {
		st := openBehindPgBouncer(t, binary)
		f := newFixture(t, st, 1000, 0)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		heard := make(chan int64, 100)
		go st.ListenChanges(ctx, func(seq int64) { heard <- seq }) //nolint:errcheck // ends with ctx
		// Listening starts asynchronously: change until a change is heard.
		deadline := time.After(10 * time.Second)
		note := "hello"
		for {
			u, err := st.UpdateSubUser(ctx, 0, f.u.ID, subgate.SubUserUpdate{Note: &note}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			select {
			case seq := <-heard:
				if seq <= 0 || seq > u.Seq {
					t.Fatalf("heard seq %d, latest change is %d", seq, u.Seq)
				}
				return
			case <-time.After(50 * time.Millisecond):
			case <-deadline:
				t.Fatal("no change announced through the pooler was heard within 10 s")
			}
		}
	})
}
