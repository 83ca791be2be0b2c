package postgres_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/postgres"
)

// The two-key advisory locks serialising a sub-user's egress admissions
// and slot requests (see postgres/egress.go and postgres/slots.go).
const (
	egressLockClass = 0x45677273
	slotLockClass   = 0x536c6f74
)

// admissionBehindLock runs admit while the admin connection holds the
// sub-user's advisory lock of class, commits insert from the admin
// connection once admit waits for the lock, releases it and returns what
// admit returned.
func admissionBehindLock[T any](t *testing.T, db *testDB, class int32, id int64, insert string, admit func() (T, error)) T {
	t.Helper()
	ctx := context.Background()
	if _, err := db.admin.Exec(ctx, `SELECT pg_advisory_lock($1::int, ($2::bigint % 2147483647)::int)`, class, id); err != nil {
		t.Fatal(err)
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := admit()
		done <- result{v, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := db.admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid = $1::int::oid AND objid = ($2::bigint % 2147483647)::int::oid AND objsubid = 2`, class, id).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the admission never waited for the sub-user's lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := db.admin.Exec(ctx, insert); err != nil {
		t.Fatal(err)
	}
	if _, err := db.admin.Exec(ctx, `SELECT pg_advisory_unlock($1::int, ($2::bigint % 2147483647)::int)`, class, id); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.v
	case <-time.After(10 * time.Second):
		t.Fatal("the admission did not finish")
	}
	var zero T
	return zero
}

// Egress admissions and slot requests count what committed before they got
// the sub-user's lock even where the database's default isolation is
// REPEATABLE READ (set for the database or in the URL): a snapshot taken
// before the lock would miss it and let both caps pass.
func TestCapsSeeWhatCommittedBeforeTheLockUnderRepeatableRead(t *testing.T) {
	db := newTestDB(t)
	st, err := postgres.Open(context.Background(), db.url+"&default_transaction_isolation=repeatable%20read", testCipher(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := newFixture(t, st, 1000, 100)
	id := f.u.ID

	a := admissionBehindLock(t, db, egressLockClass, id,
		`INSERT INTO `+db.schema+`.egress (subuser_id, day_key, key) VALUES (`+strconv.FormatInt(id, 10)+`, 7, 'first')`,
		func() (subgate.EgressAdmission, error) {
			return st.AdmitEgress(context.Background(), subgate.EgressRequest{SubUserID: id, DayKey: 7, Key: "second", Cap: 1})
		})
	if a.Admitted || a.Count != 1 {
		t.Fatalf("a second key under ip_usage_cap 1: %+v", a)
	}

	now := time.Now()
	n := admissionBehindLock(t, db, slotLockClass, id,
		`INSERT INTO `+db.schema+`.conn_slots (subuser_id, node, slots, expires_at) VALUES (`+strconv.FormatInt(id, 10)+`, 'other', 1, now() + interval '1 hour')`,
		func() (int64, error) {
			return st.AcquireSlots(context.Background(), subgate.SlotRequest{Node: "this", SubUserID: id, Want: 1, Cap: 1, TTL: time.Minute, Now: now})
		})
	if n != 0 {
		t.Fatalf("granted %d slots with the only one held by another node", n)
	}
}
