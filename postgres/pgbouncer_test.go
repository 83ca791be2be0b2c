package postgres_test

import (
	"context"
	"os"
	"strings"
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
	binary := bouncerBinary(t)
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
				if seq == 0 {
					continue // the listener's own probe
				}
				if seq < 0 || seq > u.Seq {
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

// An operator who points every URL at the pooler, the session one too,
// still gets nodes that start: migrations hold no lock beyond their own
// transactions, so none is left behind on a pooled server connection for
// every later start to wait on.
func TestNodesStartWithMigrationsThroughPgBouncer(t *testing.T) {
	binary := bouncerBinary(t)
	db := newTestDB(t)
	pb := pgtest.StartPgBouncer(t, binary, db.schema, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for round := range 3 {
		const nodes = 4
		errs := make(chan error, nodes)
		for range nodes {
			go func() {
				st, err := postgres.OpenWith(ctx, pb.URL, testCipher(t), postgres.Options{})
				if err == nil {
					st.Close()
				}
				errs <- err
			}()
		}
		for range nodes {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: a node did not start: %v", round, err)
			}
		}
		// A session lock left behind sits on a server connection the
		// pooler keeps idle; a transaction's lock is gone with it.
		var left int
		err := db.admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			WHERE l.locktype = 'advisory' AND l.granted AND a.state = 'idle'
			AND (l.classid::bigint << 32 | l.objid::bigint) = $1`, postgres.MigrationLockKey).Scan(&left)
		if err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Fatalf("round %d: the migration lock is left held on %d idle server connection(s)", round, left)
		}
	}
	// LISTEN through the pooler is accepted and hears nothing: the feed
	// says so, and what to change, instead of staying silent.
	st, err := postgres.OpenWith(ctx, pb.URL, testCipher(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.ListenChanges(ctx, func(seq int64) { t.Errorf("heard seq %d through a pooler in transaction mode", seq) })
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "db_session_url") {
		t.Fatalf("listening through the pooler ended with %v, want an error naming the session URL", err)
	}
}

// bouncerBinary is the PgBouncer binary a test runs behind
// (SUBGATE_TEST_PGBOUNCER). Without one the test fails in CI, which runs
// it, and is skipped elsewhere, saying how to run it.
func bouncerBinary(t *testing.T) string {
	t.Helper()
	binary := pgtest.BouncerBinary()
	if binary == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs this test behind PgBouncer: set SUBGATE_TEST_PGBOUNCER to its binary")
		}
		t.Skip("set SUBGATE_TEST_PGBOUNCER to a PgBouncer binary to run this test")
	}
	return binary
}
