package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/postgres"
)

// Deterministic checks of the lock order documented in store.go. Each test
// plays one side of a would-be cycle on a raw connection: it takes the first
// lock that side takes, starts the store call that is the other side, waits
// until the call queues behind that lock, and then asks for that side's
// second lock with NOWAIT. If the store call holds it, the two would
// deadlock (PostgreSQL breaks the cycle only after deadlock_timeout, and one
// side is retried or fails).

// lockOrderEnv is a fresh store with a reseller whose pools are credited,
// and a deadline for the test.
func lockOrderEnv(t *testing.T, pools map[subgate.Product]int64) (*testDB, *postgres.Store, context.Context, *subgate.Reseller) {
	t.Helper()
	db := newTestDB(t)
	st := db.open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return db, st, ctx, lockOrderSetup(t, st, ctx, pools)
}

// lockOrderSetup is a reseller with credited pools.
func lockOrderSetup(t *testing.T, st *postgres.Store, ctx context.Context, pools map[subgate.Product]int64) *subgate.Reseller {
	t.Helper()
	r := &subgate.Reseller{Name: "acme"}
	if err := st.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	for p, b := range pools {
		if _, err := st.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: p, Bytes: b}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func lockOrderSubUser(t *testing.T, st *postgres.Store, ctx context.Context, r *subgate.Reseller, name string,
	funding subgate.Funding, initial map[subgate.Product]int64) *subgate.SubUser {
	t.Helper()
	u := newSubUser(r.ID, name+"_"+subgate.NewHash()[20:])
	u.Funding = funding
	if err := st.CreateSubUser(ctx, u, initial, ""); err != nil {
		t.Fatal(err)
	}
	return u
}

// leaseThenDelete gives a deleted allocated sub-user a live lease on node of
// p, so that the node's next flush releasing it returns the bytes to the
// pool (settle: a deleted row's released lease goes back). It returns the
// sub-user and the leased bytes.
func leaseThenDelete(t *testing.T, st *postgres.Store, ctx context.Context, r *subgate.Reseller, node string, p subgate.Product) (*subgate.SubUser, int64) {
	t.Helper()
	d := lockOrderSubUser(t, st, ctx, r, "gone", subgate.FundingAllocated, map[subgate.Product]int64{p: 100})
	now := time.Now()
	got, err := st.AcquireLease(ctx, subgate.LeaseRequest{Node: node, SubUserID: d.ID, Product: p, Want: 60, TTL: time.Minute, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got <= 0 {
		t.Fatalf("lease of the sub-user to delete: granted %d", got)
	}
	if err := st.DeleteSubUser(ctx, 0, d.ID, now); err != nil {
		t.Fatal(err)
	}
	return d, got
}

func rawTx(t *testing.T, ctx context.Context, db *testDB) (pgx.Tx, uint32) {
	t.Helper()
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) }) //nolint:errcheck
	return tx, conn.PgConn().PID()
}

func mustExec(t *testing.T, ctx context.Context, tx pgx.Tx, sql string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
}

// A flush that returns a deleted sub-user's released lease to the pool
// updates the pool (movePool in writeBooks) after it has renewed every lease
// of its node, including leases of sub-users it never locked. A lease
// request of such a shared sub-user on the same node holds its row and the
// pool (lockPoolForLease) and then upserts its lease row: the flush holds
// that lease row and waits for the pool.
func TestFlushReturningToAPoolDoesNotHoldAnotherSubUsersLeaseWhileWaitingForIt(t *testing.T) {
	res := subgate.ProductResidential
	const node = "n"
	db, st, ctx, r := lockOrderEnv(t, map[subgate.Product]int64{res: 1000})
	gone, leased := leaseThenDelete(t, st, ctx, r, node, res)
	shared := lockOrderSubUser(t, st, ctx, r, "shared", subgate.FundingShared, nil)
	if got, err := st.AcquireLease(ctx, subgate.LeaseRequest{Node: node, SubUserID: shared.ID, Product: res, Want: 10,
		TTL: time.Minute, Now: time.Now()}); err != nil || got <= 0 {
		t.Fatalf("shared sub-user's first lease: %d, %v", got, err)
	}

	// A lease request renewing the shared sub-user's lease on the node: its
	// row, then the pool (lockForLease, lockPoolForLease).
	lease, pid := rawTx(t, ctx, db)
	mustExec(t, ctx, lease, `SELECT id FROM subusers WHERE id = $1 FOR UPDATE`, shared.ID)
	mustExec(t, ctx, lease, `SELECT bytes FROM pools WHERE reseller_id = $1 AND product = $2 FOR UPDATE`, r.ID, string(res))

	now := time.Now()
	flush := func() error {
		return st.FlushUsage(ctx, subgate.UsageBatch{ID: subgate.NewHash(), Node: node, Now: now, LeaseTTL: time.Minute,
			Release: []subgate.LeaseRelease{{SubUserID: gone.ID, Product: res, Bytes: leased}}})
	}
	// The lease request's next lock: its lease row (the upsert takes it
	// FOR NO KEY UPDATE).
	nextLockFree(t, ctx, db, lease, pid, flush, "the flush holds the shared sub-user's lease row while it waits for the pool",
		`SELECT 1 FROM leases WHERE subuser_id = $1 AND product = $2 AND node = $3 FOR NO KEY UPDATE NOWAIT`,
		shared.ID, string(res), node)
}

// A flush locks the pools its shared usage charges in (reseller, product)
// order (lockPools), but the pools a deleted sub-user's released lease goes
// back to only at the end (movePool in writeBooks): the second set is not
// ordered after the first. A transaction taking two pools of a reseller in
// product order (a create giving several products, a delete or a funding
// switch returning several, another flush) holds the lower one and waits for
// the higher one, which the flush holds while it waits for the lower.
func TestFlushLocksEveryPoolInOneOrder(t *testing.T) {
	dc, res := subgate.ProductDatacenter, subgate.ProductResidential // "dc" < "res"
	const node = "n"
	db, st, ctx, r := lockOrderEnv(t, map[subgate.Product]int64{dc: 1000, res: 1000})
	gone, leased := leaseThenDelete(t, st, ctx, r, node, dc)
	shared := lockOrderSubUser(t, st, ctx, r, "shared", subgate.FundingShared, nil)

	// A create giving both products: the dc pool, then the res pool
	// (createSteps locks pools in product order).
	create, pid := rawTx(t, ctx, db)
	mustExec(t, ctx, create, `SELECT bytes FROM pools WHERE reseller_id = $1 AND product = $2 FOR UPDATE`, r.ID, string(dc))

	now := time.Now()
	// Shared usage of res (its pool is locked by lockPools) and the release
	// of the deleted sub-user's dc lease (back to the dc pool).
	flush := func() error {
		return st.FlushUsage(ctx, subgate.UsageBatch{ID: subgate.NewHash(), Node: node, Now: now, LeaseTTL: time.Minute,
			Items:   []subgate.UsageItem{{SubUserID: shared.ID, Product: res, Hour: subgate.HourOf(now), Bytes: 10}},
			Release: []subgate.LeaseRelease{{SubUserID: gone.ID, Product: dc, Bytes: leased}}})
	}
	nextLockFree(t, ctx, db, create, pid, flush, "the flush holds the res pool while it waits for the dc pool",
		`SELECT bytes FROM pools WHERE reseller_id = $1 AND product = $2 FOR UPDATE NOWAIT`, r.ID, string(res))
}

// CreditPool locks the reseller's shared sub-users (lockShared) before the
// pool, and its wake (drawWakeSeqs) runs after the pool. A sub-user switched
// to shared (or created shared) in between would be locked there for the
// first time, after the pool: a lease request of that sub-user holds its row
// and waits for the pool. The wake skips such a row instead of waiting.
func TestCreditPoolDoesNotWaitForARowThatBecameSharedAfterItsLocks(t *testing.T) {
	res := subgate.ProductResidential
	db, st, ctx, r := lockOrderEnv(t, map[subgate.Product]int64{res: 1000})
	// No balance: the switch to shared returns nothing, so it needs no pool.
	u := lockOrderSubUser(t, st, ctx, r, "switching", subgate.FundingAllocated, nil)
	if u.ID%128 == r.ID%128 {
		u = lockOrderSubUser(t, st, ctx, r, "switching2", subgate.FundingAllocated, nil)
	}

	// Any change in flight on the reseller's change stripe: it only widens
	// the window between CreditPool's lockShared and its wake.
	stripe, stripePID := rawTx(t, ctx, db)
	mustExec(t, ctx, stripe, `UPDATE change_stripes SET seq = seq WHERE stripe = $1`, r.ID%128)

	done := make(chan error, 1)
	go func() {
		_, err := st.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: 100})
		done <- err
	}()
	waitForLockWait(t, db, stripePID, done)

	// Meanwhile the sub-user becomes shared, and a lease request takes its row.
	shared := subgate.FundingShared
	if _, err := st.UpdateSubUser(ctx, 0, u.ID, subgate.SubUserUpdate{Funding: &shared}, time.Now()); err != nil {
		t.Fatal(err)
	}
	lease, leasePID := rawTx(t, ctx, db)
	mustExec(t, ctx, lease, `SELECT id FROM subusers WHERE id = $1 FOR UPDATE`, u.ID)
	stripe.Rollback(ctx) //nolint:errcheck
	endsWithoutWaitingFor(t, db, leasePID, done, "CreditPool, holding the pool, waits for the row of a sub-user that became shared after its locks")
	// The lease request's next lock, the pool, is free.
	if _, err := lease.Exec(ctx, `SELECT bytes FROM pools WHERE reseller_id = $1 AND product = $2 FOR UPDATE NOWAIT`, r.ID, string(res)); err != nil {
		t.Errorf("the pool is still held after the credit: %v", err)
	}
	lease.Rollback(ctx) //nolint:errcheck
}

// CreditPool claims its idempotency key before it locks the shared
// sub-users; a transfer (or a traffic update) locks its sub-user and then
// claims its key. The same key sent to both for a shared sub-user of the
// reseller makes each wait for the other.
func TestCreditPoolClaimsItsKeyAfterTheSubUserRows(t *testing.T) {
	res := subgate.ProductResidential
	db, st, ctx, r := lockOrderEnv(t, map[subgate.Product]int64{res: 1000})
	shared := lockOrderSubUser(t, st, ctx, r, "shared", subgate.FundingShared, nil)
	const key = "k-1"

	// A transfer to the shared sub-user with the same key: its row first
	// (inLockedTx), then the key (claimKey).
	transfer, pid := rawTx(t, ctx, db)
	mustExec(t, ctx, transfer, `SELECT id FROM subusers WHERE id = $1 FOR UPDATE`, shared.ID)

	credit := func() error {
		_, err := st.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: 100, IdempotencyKey: key})
		return err
	}
	// The key claim waits for an uncommitted insert of the same key; a short
	// lock timeout shows whether CreditPool holds it.
	mustExec(t, ctx, transfer, `SET LOCAL lock_timeout = '200ms'`)
	nextLockFree(t, ctx, db, transfer, pid, credit, "CreditPool holds its idempotency key while it waits for a shared sub-user's row",
		`INSERT INTO ledger_keys (reseller_id, key, op, subuser_id, product, bytes)
		VALUES ($1, $2, 'transfer', $3, $4, 5) ON CONFLICT DO NOTHING`, r.ID, key, shared.ID, string(res))
}

// nextLockFree plays the side of a would-be cycle that holds a lock on tx
// (session pid): once call queues behind that lock, this side's next lock
// (next, which fails at once rather than wait: NOWAIT or a short
// lock_timeout) must be free, or call holds it while it waits. Then tx rolls
// back and call must succeed.
func nextLockFree(t *testing.T, ctx context.Context, db *testDB, tx pgx.Tx, pid uint32, call func() error, why string, next string, args ...any) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	waitForLockWait(t, db, pid, done)
	if _, err := tx.Exec(ctx, next, args...); err != nil {
		t.Errorf("%s: %v", why, err)
	}
	tx.Rollback(ctx) //nolint:errcheck
	if err := <-done; err != nil {
		t.Fatalf("after the other side rolled back: %v", err)
	}
}

// Housekeeping deletes expired leases of every sub-user in one transaction
// with its other deletes; a lease request deletes its own sub-user's expired
// leases. Housekeeping skips a row another transaction holds instead of
// waiting for it while holding the rows it deleted already.
func TestHousekeepingSkipsExpiredLeasesHeldByOthers(t *testing.T) {
	db, st, ctx, r := lockOrderEnv(t, map[subgate.Product]int64{subgate.ProductResidential: 1000})
	res := subgate.ProductResidential
	held := lockOrderSubUser(t, st, ctx, r, "held", subgate.FundingAllocated, map[subgate.Product]int64{res: 100})
	free := lockOrderSubUser(t, st, ctx, r, "free", subgate.FundingAllocated, map[subgate.Product]int64{res: 100})
	t0 := time.Now()
	for _, u := range []*subgate.SubUser{held, free} {
		if _, err := st.AcquireLease(ctx, subgate.LeaseRequest{Node: "a", SubUserID: u.ID, Product: res, Want: 10, TTL: time.Minute, Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	other, pid := rawTx(t, ctx, db)
	mustExec(t, ctx, other, `SELECT 1 FROM leases WHERE subuser_id = $1 FOR UPDATE`, held.ID)
	// A fresh store housekeeps after its first flush; both leases expired.
	flushed := make(chan error, 1)
	go func() {
		flushed <- st.FlushUsage(ctx, subgate.UsageBatch{ID: subgate.NewHash(), Node: "b", Now: t0.Add(2 * time.Minute)})
	}()
	leases := func() (n int) {
		t.Helper()
		if err := db.admin.QueryRow(ctx, `SELECT count(*) FROM `+db.schema+`.leases WHERE subuser_id = ANY($1)`,
			[]int64{held.ID, free.ID}).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Housekeeping follows the flush's commit within the call.
	endsWithoutWaitingFor(t, db, pid, flushed, "housekeeping waits for an expired lease another transaction holds")
	if n := leases(); n != 1 {
		t.Fatalf("%d of the two expired leases left while one was held, want 1 (the held one)", n)
	}
	other.Rollback(ctx) //nolint:errcheck
}

// blocksAnother reports whether a session waits for a lock session pid holds.
func blocksAnother(t *testing.T, db *testDB, pid uint32) bool {
	t.Helper()
	var waits bool
	if err := db.admin.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE $1 = ANY(pg_blocking_pids(pid)))`, int32(pid)).Scan(&waits); err != nil {
		t.Fatal(err)
	}
	return waits
}

// A flush renews every lease of its node, of sub-users it did not lock too,
// after it has locked pools. A lease request holds its sub-user's row and
// its lease rows (replacing this node's, or deleting one its own clock
// finds expired) before it asks for the pool: the flush skips such a lease
// row instead of waiting for it.
func TestFlushRenewalSkipsLeasesOthersHold(t *testing.T) {
	db, st, ctx, r := lockOrderEnv(t, map[subgate.Product]int64{subgate.ProductResidential: 1000})
	res := subgate.ProductResidential
	const node = "n"
	held := lockOrderSubUser(t, st, ctx, r, "held", subgate.FundingShared, nil)
	charged := lockOrderSubUser(t, st, ctx, r, "charged", subgate.FundingShared, nil)
	now := time.Now()
	for _, u := range []*subgate.SubUser{held, charged} {
		if _, err := st.AcquireLease(ctx, subgate.LeaseRequest{Node: node, SubUserID: u.ID, Product: res, Want: 10, TTL: time.Minute, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	lease, pid := rawTx(t, ctx, db)
	mustExec(t, ctx, lease, `SELECT id FROM subusers WHERE id = $1 FOR UPDATE`, held.ID)
	mustExec(t, ctx, lease, `SELECT 1 FROM leases WHERE subuser_id = $1 AND node = $2 FOR UPDATE`, held.ID, node)
	flushed := make(chan error, 1)
	go func() {
		flushed <- st.FlushUsage(ctx, subgate.UsageBatch{ID: subgate.NewHash(), Node: node, Now: now, LeaseTTL: time.Minute,
			Items: []subgate.UsageItem{{SubUserID: charged.ID, Product: res, Hour: subgate.HourOf(now), Bytes: 5}}})
	}()
	endsWithoutWaitingFor(t, db, pid, flushed, "the flush, holding the pool, waits for a lease row a lease request holds")
	// The lease request's next lock, the pool, is free.
	if _, err := lease.Exec(ctx, `SELECT bytes FROM pools WHERE reseller_id = $1 AND product = $2 FOR UPDATE NOWAIT`, r.ID, string(res)); err != nil {
		t.Errorf("the pool is still held after the flush: %v", err)
	}
	lease.Rollback(ctx) //nolint:errcheck
}

// endsWithoutWaitingFor waits for a store call to report on done, failing
// as soon as it waits for a lock session pid holds (why says what that
// means) or reports an error.
func endsWithoutWaitingFor(t *testing.T, db *testDB, pid uint32, done <-chan error, why string) {
	t.Helper()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(5 * time.Millisecond):
			if blocksAnother(t, db, pid) {
				t.Fatal(why)
			}
		}
	}
}

// A flush records the egress keys its node admitted without the admission
// lock; an admission inserting the same key at that moment waits for the
// flush and then finds the key recorded, which admits it, not an error.
func TestEgressAdmissionBesideAFlushRecordingTheSameKey(t *testing.T) {
	db, st, ctx, r := lockOrderEnv(t, map[subgate.Product]int64{subgate.ProductResidential: 1000})
	u := lockOrderSubUser(t, st, ctx, r, "egress", subgate.FundingAllocated, nil)
	const day, key = 20261205, "203.0.113.7"
	flush, pid := rawTx(t, ctx, db)
	mustExec(t, ctx, flush, `INSERT INTO egress (subuser_id, day_key, key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, u.ID, day, key)
	type answer struct {
		a   subgate.EgressAdmission
		err error
	}
	admitted := make(chan answer, 1)
	go func() {
		a, err := st.AdmitEgress(ctx, subgate.EgressRequest{SubUserID: u.ID, DayKey: day, Key: key, Cap: 5})
		admitted <- answer{a, err}
	}()
	for deadline := time.Now().Add(20 * time.Second); !blocksAnother(t, db, pid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the admission never waited for the flush's uncommitted key")
		}
	}
	if err := flush.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := <-admitted
	if got.err != nil || !got.a.Admitted || got.a.Count != 1 {
		t.Fatalf("admission beside the flush: %+v, %v; want admitted, 1 key", got.a, got.err)
	}
}
