package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// A flush that empties a shared pool wakes the pool's shared sub-users. A
// lease request locks its sub-user's row and then the pool; the flush locks
// the pool, so it must not wait for that row while it holds the pool, or the
// two deadlock (PostgreSQL breaks the cycle only after deadlock_timeout).
func TestFlushEmptyingAPoolDoesNotHoldItWhileWakingSharedSubUsers(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := subgate.ProductResidential
	r := &subgate.Reseller{Name: "acme"}
	if err := st.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: 100}); err != nil {
		t.Fatal(err)
	}
	shared := func(name string) *subgate.SubUser {
		u := newSubUser(r.ID, name+"_"+subgate.NewHash()[20:])
		u.Funding = subgate.FundingShared
		if err := st.CreateSubUser(ctx, u, nil, ""); err != nil {
			t.Fatal(err)
		}
		return u
	}
	flushed, leasing := shared("flushed"), shared("leasing")
	seqBefore, err := st.SubUsersSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}

	lease, err := pgx.Connect(ctx, db.url)
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Close(context.Background())
	tx, err := lease.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	// A lease request's first lock: its sub-user's row.
	if _, err := tx.Exec(ctx, `SELECT id FROM subusers WHERE id = $1 FOR UPDATE`, leasing.ID); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	done := make(chan error, 1)
	go func() {
		done <- st.FlushUsage(ctx, subgate.UsageBatch{ID: subgate.NewHash(), Node: "n", Now: now, LeaseTTL: time.Minute,
			Items: []subgate.UsageItem{{SubUserID: flushed.ID, Product: res, Hour: subgate.HourOf(now), Bytes: 100}}})
	}()
	waitForLockWait(t, db, lease.PgConn().PID(), done)

	// The lease request's next lock: the pool. The flush has emptied it and
	// must have let it go; NOWAIT fails at once if it still holds it.
	var pool int64
	if err := tx.QueryRow(ctx, `SELECT bytes FROM pools WHERE reseller_id = $1 AND product = $2 FOR UPDATE NOWAIT`,
		r.ID, string(res)).Scan(&pool); err != nil {
		t.Fatalf("the flush still holds the pool while it waits for a shared sub-user's row: %v", err)
	}
	if pool != 0 {
		t.Fatalf("pool = %d after the flush, want 0", pool)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("flush: %v", err)
	}
	woken, err := st.SubUsersChanged(ctx, seqBefore, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(woken); len(got) != 2 || !(got[0] == flushed.ID && got[1] == leasing.ID || got[0] == leasing.ID && got[1] == flushed.ID) {
		t.Fatalf("sub-users woken by the emptied pool: %v, want both shared ones (%d, %d)", got, flushed.ID, leasing.ID)
	}
}

// waitForLockWait returns once a session waits for a lock held by session
// pid, failing if done reports first.
func waitForLockWait(t *testing.T, db *testDB, pid uint32, done <-chan error) {
	t.Helper()
	for {
		if blocksAnother(t, db, pid) {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("finished without waiting for a lock: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
