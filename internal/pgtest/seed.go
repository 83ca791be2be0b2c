package pgtest

import (
	"context"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
)

// SimUsername is the username SeedSubUsers gives sub-user id.
func SimUsername(id int64) string { return "sim_" + strconv.FormatInt(id, 10) }

// SeedSubUsers loads n active sub-users with ids 1 to n (SimUsername) into
// the store schema url connects to, all of reseller r, with the proxy
// password sealed and 1 TiB of residential traffic each, in a few
// statements: what creating them one by one leaves behind, without the
// ledger. The schema must be migrated and hold no sub-users yet.
func SeedSubUsers(t testing.TB, url string, n int, r int64, sealed []byte) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := int64(n)
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO subusers (id, hash, reseller_id, username, password, status, created_at, updated_at, seq)
			SELECT i, 'simhash' || i, $1, 'sim_' || i, $2, 'active', now(), now(), i FROM generate_series(1, $3::bigint) i`,
			[]any{r, sealed, count}},
		{`INSERT INTO totals (subuser_id, reseller_id, available)
			SELECT i, $1, 1099511627776 FROM generate_series(1, $2::bigint) i`, []any{r, count}},
		{`INSERT INTO balances (subuser_id, product, available)
			SELECT i, 'res', 1099511627776 FROM generate_series(1, $1::bigint) i`, []any{count}},
		{`INSERT INTO live_counts (reseller_id, stripe, n) VALUES ($1, 0, $2)`, []any{r, count}},
		{`SELECT setval('subusers_id_seq', $1)`, []any{count}},
		{`SELECT setval('subuser_seq', $1)`, []any{count}},
	} {
		if _, err := conn.Exec(ctx, st.sql, st.args...); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	// What autovacuum would do soon after such a load.
	for _, table := range []string{"subusers", "balances", "totals"} {
		if _, err := conn.Exec(ctx, `VACUUM ANALYZE `+table); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}
