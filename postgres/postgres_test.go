package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/pgtest"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
)

func testCipher(t testing.TB) subgate.Cipher {
	c, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testDB is a fresh schema of the test database, dropped when the test ends.
type testDB struct {
	admin  *pgx.Conn // outside the schema, to inspect and clean up
	schema string
	url    string // connects with search_path set to the schema
}

func newTestDB(t testing.TB) *testDB {
	t.Helper()
	d := pgtest.NewSchema(t, "subgate_test_")
	return &testDB{admin: d.Admin, schema: d.Schema, url: d.URL}
}

func (db *testDB) open(t testing.TB) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), db.url, testCipher(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openStore opens a store on a fresh schema.
func openStore(t testing.TB) *postgres.Store {
	t.Helper()
	return newTestDB(t).open(t)
}

// fixture is a reseller with credited pools and one sub-user.
type fixture struct {
	st  *postgres.Store
	r   *subgate.Reseller
	u   *subgate.SubUser
	ctx context.Context
}

func newFixture(t *testing.T, st *postgres.Store, pool, given int64) *fixture {
	t.Helper()
	ctx := context.Background()
	r := &subgate.Reseller{Name: "acme", Email: "ops" + subgate.NewHash()[20:] + "@acme.test"}
	if err := st.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: subgate.ProductResidential, Bytes: pool}); err != nil {
		t.Fatal(err)
	}
	u := newSubUser(r.ID, "alice_"+subgate.NewHash()[20:])
	if err := st.CreateSubUser(ctx, u, map[subgate.Product]int64{subgate.ProductResidential: given}, ""); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, r: r, u: u, ctx: ctx}
}

func newSubUser(resellerID int64, username string) *subgate.SubUser {
	return &subgate.SubUser{Hash: subgate.NewHash(), ResellerID: resellerID, Username: username,
		Password: "pw-" + username, Status: subgate.StatusActive}
}

// checkInvariant asserts pool + available + used = credited − debited, and
// that the ledger agrees with the balances, for every product.
func checkInvariant(t *testing.T, st *postgres.Store, resellerID int64) map[subgate.Product]subgate.AuditLine {
	t.Helper()
	lines, err := st.Audit(context.Background(), resellerID)
	if err != nil {
		t.Fatal(err)
	}
	for p, l := range lines {
		if l.Pool+l.Available+l.Used != l.Credited-l.Debited {
			t.Errorf("%s: pool %d + available %d + used %d != credited %d - debited %d", p, l.Pool, l.Available, l.Used, l.Credited, l.Debited)
		}
		if l.Pool != l.LedgerPool || l.Available != l.LedgerAvailable || l.Used != l.LedgerUsed {
			t.Errorf("%s: balances (%d, %d, %d) disagree with the ledger (%d, %d, %d)", p,
				l.Pool, l.Available, l.Used, l.LedgerPool, l.LedgerAvailable, l.LedgerUsed)
		}
	}
	return lines
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := subgate.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func TestProxyPasswordIsSealedAtRest(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	f := newFixture(t, st, 1000, 10)
	var sealed []byte
	if err := db.admin.QueryRow(f.ctx, `SELECT password FROM `+db.schema+`.subusers WHERE id = $1`, f.u.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || bytes.Contains(sealed, []byte(f.u.Password)) {
		t.Fatalf("password column %q holds the plaintext %q", sealed, f.u.Password)
	}
	got, err := st.SubUserByUsername(f.ctx, f.u.Username)
	if err != nil {
		t.Fatal(err)
	}
	if got.Password != f.u.Password {
		t.Fatalf("read password %q, want %q", got.Password, f.u.Password)
	}
	newPW := "fresh-secret-42"
	if _, err := st.UpdateSubUser(f.ctx, 0, f.u.ID, subgate.SubUserUpdate{Password: &newPW}, time.Now()); err != nil {
		t.Fatal(err)
	}
	db.admin.QueryRow(f.ctx, `SELECT password FROM `+db.schema+`.subusers WHERE id = $1`, f.u.ID).Scan(&sealed)
	if bytes.Contains(sealed, []byte(newPW)) {
		t.Fatal("updated password stored in plaintext")
	}
}

func TestOpenMigratesOnceWhenNodesStartTogether(t *testing.T) {
	db := newTestDB(t)
	const nodes = 4
	var wg sync.WaitGroup
	errs := make(chan error, nodes)
	for range nodes {
		wg.Go(func() {
			st, err := postgres.Open(context.Background(), db.url, testCipher(t))
			if err == nil {
				st.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	var applied, files int
	db.admin.QueryRow(context.Background(), `SELECT count(*) FROM `+db.schema+`.schema_migrations`).Scan(&applied)
	entries, _ := os.ReadDir("migrations")
	files = len(entries)
	if applied != files {
		t.Fatalf("%d migrations recorded, %d files", applied, files)
	}
	db.open(t) // reopening applies nothing and succeeds
}

func TestTransfersKeepTheInvariant(t *testing.T) {
	st := openStore(t)
	f := newFixture(t, st, 1000, 100)
	res := subgate.ProductResidential
	u, err := st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: 300, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Traffic[res].Available != 400 || u.TotalAvailable() != 400 {
		t.Fatalf("after give: %+v", u.Traffic)
	}
	// The same key and request again changes nothing; another request is a conflict.
	if u, err = st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: 300, IdempotencyKey: "k1"}); err != nil || u.Traffic[res].Available != 400 {
		t.Fatalf("repeat: %v %+v", err, u)
	}
	_, err = st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: 301, IdempotencyKey: "k1"})
	wantCode(t, err, subgate.ECONFLICT)
	_, err = st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: 601})
	wantCode(t, err, subgate.EINSUFFICIENT)
	_, err = st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: -401})
	wantCode(t, err, subgate.EINSUFFICIENT)
	if u, err = st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: -150}); err != nil || u.Traffic[res].Available != 250 {
		t.Fatalf("take: %v %+v", err, u)
	}
	// Another reseller's sub-user is not found.
	_, err = st.Transfer(f.ctx, subgate.Transfer{Scope: subgate.Scope(f.r.ID + 1000), SubUserID: f.u.ID, Product: res, Bytes: 1})
	wantCode(t, err, subgate.ENOTFOUND)
	r, _ := st.Reseller(f.ctx, f.r.ID)
	if r.Pools[res] != 750 {
		t.Fatalf("pool %d, want 750", r.Pools[res])
	}
	lines := checkInvariant(t, st, f.r.ID)
	if lines[res].Credited != 1000 || lines[res].Pool != 750 || lines[res].Available != 250 {
		t.Fatalf("audit %+v", lines[res])
	}
}

func TestCreateSubUserConflictsAndIdempotency(t *testing.T) {
	st := openStore(t)
	f := newFixture(t, st, 1000, 0)
	dup := newSubUser(f.r.ID, "ALICE_X")
	if err := st.CreateSubUser(f.ctx, dup, nil, ""); err != nil {
		t.Fatal(err)
	}
	err := st.CreateSubUser(f.ctx, newSubUser(f.r.ID, "alice_x"), nil, "")
	wantCode(t, err, subgate.ECONFLICT)
	err = st.CreateSubUser(f.ctx, newSubUser(f.r.ID, "bob"), map[subgate.Product]int64{subgate.ProductResidential: 1001}, "")
	wantCode(t, err, subgate.EINSUFFICIENT)
	if _, err := st.SubUserByUsername(f.ctx, "bob"); subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Fatalf("a failed create left a row: %v", err)
	}
	first := newSubUser(f.r.ID, "carol")
	if err := st.CreateSubUser(f.ctx, first, map[subgate.Product]int64{subgate.ProductResidential: 10}, "create-1"); err != nil {
		t.Fatal(err)
	}
	again := newSubUser(f.r.ID, "carol")
	if err := st.CreateSubUser(f.ctx, again, map[subgate.Product]int64{subgate.ProductResidential: 10}, "create-1"); err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Hash != first.Hash {
		t.Fatalf("repeated create made %d/%s, first was %d/%s", again.ID, again.Hash, first.ID, first.Hash)
	}
	// Deleting frees the username.
	if err := st.DeleteSubUser(f.ctx, subgate.Scope(f.r.ID), dup.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSubUser(f.ctx, newSubUser(f.r.ID, "alice_x"), nil, ""); err != nil {
		t.Fatalf("username of a deleted sub-user: %v", err)
	}
	checkInvariant(t, st, f.r.ID)
}

// TestConcurrentMixedCallsOnOneSubUser races gives, takes, leases and
// flushes on one sub-user; the books must balance to the byte.
func TestConcurrentMixedCallsOnOneSubUser(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	f := newFixture(t, st, 1_000_000, 100_000)
	res := subgate.ProductResidential
	now := time.Now()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			var err error
			switch i % 5 {
			case 0:
				_, err = st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: 1000})
			case 1:
				_, err = st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: -700})
			case 2:
				_, err = st.AcquireLease(f.ctx, subgate.LeaseRequest{Node: fmt.Sprintf("n%d", i%3), SubUserID: f.u.ID,
					Product: res, Want: 500, TTL: time.Minute, Now: now})
			case 3:
				err = st.FlushUsage(f.ctx, subgate.UsageBatch{ID: fmt.Sprintf("b%d", i), Node: fmt.Sprintf("n%d", i%3), Now: now,
					Items:    []subgate.UsageItem{{SubUserID: f.u.ID, Product: res, Hour: subgate.HourOf(now), Bytes: 300}},
					LeaseTTL: time.Minute})
			case 4:
				_, err = st.CreditPool(f.ctx, subgate.PoolCredit{ResellerID: f.r.ID, Product: res, Bytes: -50})
			}
			if err != nil && subgate.ErrorCode(err) != subgate.EINSUFFICIENT {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	lines := checkInvariant(t, st, f.r.ID)
	if lines[res].Used != 40*300 {
		t.Fatalf("used %d, want %d", lines[res].Used, 40*300)
	}
	if err := st.DeleteSubUser(f.ctx, 0, f.u.ID, now); err != nil {
		t.Fatal(err)
	}
	db.checkTotals(t)
}

// checkTotals fails unless every sub-user's totals (the used and available
// list orders) equal the sums of its balances.
func (db *testDB) checkTotals(t *testing.T) {
	t.Helper()
	var bad int
	err := db.admin.QueryRow(context.Background(), `SELECT count(*) FROM `+db.schema+`.totals t
		LEFT JOIN (SELECT subuser_id, sum(available) a, sum(used) u FROM `+db.schema+`.balances GROUP BY subuser_id) b
			ON b.subuser_id = t.subuser_id
		JOIN `+db.schema+`.subusers s ON s.id = t.subuser_id
		WHERE t.available <> coalesce(b.a, 0) OR t.used <> coalesce(b.u, 0) OR t.live <> (s.deleted_at IS NULL)`).Scan(&bad)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("%d sub-users' totals disagree with their balances", bad)
	}
}

// TestSeqOrderMatchesCommitOrder polls SubUsersChanged while writers commit
// changes concurrently. A reader that remembers the highest Seq must end up
// with every sub-user's last change: a change committed with a lower Seq
// than one already read would be skipped for good.
func TestSeqOrderMatchesCommitOrder(t *testing.T) {
	st := openStore(t)
	f := newFixture(t, st, 1_000_000, 0)
	const writers, perWriter = 8, 20
	ids := make([]int64, writers)
	for i := range ids {
		u := newSubUser(f.r.ID, fmt.Sprintf("seq_%d", i))
		if err := st.CreateSubUser(f.ctx, u, nil, ""); err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	var last int64
	seen := map[int64]string{} // sub-user → note last read
	poll := func() {
		us, err := st.SubUsersChanged(f.ctx, last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if u.Seq <= last {
				t.Fatalf("seq %d not above %d", u.Seq, last)
			}
			last = u.Seq
			seen[u.ID] = u.Note
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				note := fmt.Sprintf("w%d-%d", w, i)
				if _, err := st.UpdateSubUser(f.ctx, 0, ids[w], subgate.SubUserUpdate{Note: &note}, time.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for polling := true; polling; {
		select {
		case <-done:
			polling = false
		default:
			if time.Now().After(deadline) {
				t.Fatal("writers did not finish in time")
			}
			poll()
		}
	}
	poll()
	for w, id := range ids {
		if want := fmt.Sprintf("w%d-%d", w, perWriter-1); seen[id] != want {
			t.Errorf("sub-user %d: reader last saw note %q, the last change was %q", id, seen[id], want)
		}
	}
}
