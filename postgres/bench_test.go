package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/storetest"
)

// BenchmarkCreateSubUser measures creates with an initial give, one at a
// time and from parallel clients.
func BenchmarkCreateSubUser(b *testing.B) {
	st := openStore(b)
	ctx := context.Background()
	r := &subgate.Reseller{Name: "bench"}
	if err := st.CreateReseller(ctx, r); err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: subgate.ProductResidential, Bytes: subgate.MaxBytes}); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	create := func(b *testing.B) {
		u := newSubUser(r.ID, fmt.Sprintf("bench_%d", n.Add(1)))
		if err := st.CreateSubUser(ctx, u, map[subgate.Product]int64{subgate.ProductResidential: 1000}, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			create(b)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
	})
	b.Run("parallel", func(b *testing.B) {
		start := time.Now()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				create(b)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
	})
}

// BenchmarkList lists and searches pages of 50 over n sub-users loaded
// with COPY (storetest.BenchSubUsers: set SUBGATE_BENCH_SUBUSERS=1000000
// for the figures in the README), and reports the p50 and p99 latency of a
// page.
func BenchmarkList(b *testing.B) {
	n := storetest.BenchSubUsers(b)
	db, seeded := listBenchDB(b, n)
	st := db.open(b)
	ctx := context.Background()
	big := &subgate.Reseller{Name: "big"}
	small := &subgate.Reseller{Name: "small"}
	if seeded {
		for _, r := range []*subgate.Reseller{big, small} {
			if err := db.admin.QueryRow(ctx, `SELECT id FROM `+db.schema+`.resellers WHERE name = $1`, r.Name).Scan(&r.ID); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		for _, r := range []*subgate.Reseller{big, small} {
			if err := st.CreateReseller(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		bulkLoad(b, db, n, big.ID, small.ID)
		markSeeded(b, db)
		b.Logf("loaded %d sub-users in %v", n, time.Since(start).Round(time.Millisecond))
	}

	bigScope := subgate.Scope(big.ID)
	cases := []struct {
		name string
		f    subgate.SubUserFilter
	}{
		{"reseller/id", subgate.SubUserFilter{Scope: bigScope}},
		{"reseller/username", subgate.SubUserFilter{Scope: bigScope, Sort: subgate.SortUsername}},
		{"reseller/used-desc", subgate.SubUserFilter{Scope: bigScope, Sort: subgate.SortUsed, Desc: true}},
		{"reseller/status-active", subgate.SubUserFilter{Scope: bigScope, Status: subgate.StatusActive, Sort: subgate.SortCreatedAt}},
		{"reseller/disabled-used", subgate.SubUserFilter{Scope: bigScope, Status: subgate.StatusDisabled, Sort: subgate.SortUsed, Desc: true}},
		{"reseller/blocked-used", subgate.SubUserFilter{Scope: bigScope, Status: subgate.StatusBlocked, Sort: subgate.SortUsed, Desc: true}},
		{"reseller/search-rare", subgate.SubUserFilter{Scope: bigScope, Search: "0424242"}},
		{"reseller/search-common", subgate.SubUserFilter{Scope: bigScope, Search: "falcon"}},
		{"reseller/search-3char", subgate.SubUserFilter{Scope: bigScope, Search: "ple"}},
		{"reseller/search-common-used", subgate.SubUserFilter{Scope: bigScope, Search: "falcon", Sort: subgate.SortUsed, Desc: true}},
		{"reseller/search-short", subgate.SubUserFilter{Scope: bigScope, Search: "q7"}},
		// The admin's lists span every reseller.
		{"admin/id", subgate.SubUserFilter{}},
		{"admin/username", subgate.SubUserFilter{Sort: subgate.SortUsername}},
		{"admin/used-desc", subgate.SubUserFilter{Sort: subgate.SortUsed, Desc: true}},
		{"admin/available", subgate.SubUserFilter{Sort: subgate.SortAvailable}},
		{"admin/status-active", subgate.SubUserFilter{Status: subgate.StatusActive, Sort: subgate.SortCreatedAt}},
		{"admin/disabled-used", subgate.SubUserFilter{Status: subgate.StatusDisabled, Sort: subgate.SortUsed, Desc: true}},
		{"admin/blocked-used", subgate.SubUserFilter{Status: subgate.StatusBlocked, Sort: subgate.SortUsed, Desc: true}},
		{"admin/search-rare", subgate.SubUserFilter{Search: "0424242"}},
		{"admin/search-common", subgate.SubUserFilter{Search: "falcon"}},
		{"admin/search-3char", subgate.SubUserFilter{Search: "ple"}},
		{"admin/search-common-used", subgate.SubUserFilter{Search: "falcon", Sort: subgate.SortUsed, Desc: true}},
		{"admin/search-note", subgate.SubUserFilter{Search: "invoice 77"}},
		{"admin/search-note-used", subgate.SubUserFilter{Search: "invoice 77", Sort: subgate.SortUsed, Desc: true}},
		{"admin/search-1pct", subgate.SubUserFilter{Search: "invoice 7"}},
		{"admin/search-1pct-used", subgate.SubUserFilter{Search: "invoice 7", Sort: subgate.SortUsed, Desc: true}},
		{"count/reseller-exact", subgate.SubUserFilter{Scope: bigScope, WithTotal: true}},
		{"count/admin-exact", subgate.SubUserFilter{WithTotal: true}},
		{"count/active-exact", subgate.SubUserFilter{Scope: bigScope, Status: subgate.StatusActive, WithTotal: true}},
		{"count/active-estimate", subgate.SubUserFilter{Scope: bigScope, Status: subgate.StatusActive, WithTotal: true, EstimateTotal: true}},
		{"count/common-exact", subgate.SubUserFilter{Scope: bigScope, Search: "falcon", WithTotal: true}},
		{"count/common-estimate", subgate.SubUserFilter{Scope: bigScope, Search: "falcon", WithTotal: true, EstimateTotal: true}},
		{"count/admin-active-estimate", subgate.SubUserFilter{Status: subgate.StatusActive, WithTotal: true, EstimateTotal: true}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var lat []time.Duration
			f := c.f
			f.Limit = 50
			for b.Loop() {
				t := time.Now()
				page, err := st.SubUsers(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
				// Walk forward by cursor, starting over at the end.
				f.After = page.Next
			}
			reportLatency(b, lat)
		})
	}
}

// reportLatency adds p50 and p99 of the measured calls to the results.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

var words = []string{"falcon", "river", "stone", "maple", "orbit", "cedar", "pixel", "harbor", "ember", "quartz",
	"willow", "comet", "delta", "spruce", "nova", "atlas"}

// bulkLoad copies n sub-users with one balance each into the store: 95%
// belong to big. Every row shares one sealed password.
func bulkLoad(b testing.TB, db *testDB, n int, big, small int64) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	sealed, err := testCipher(b).Seal([]byte("bench-password"))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	statuses := []string{"active", "active", "active", "disabled"}
	users := make([][]any, 0, n)
	for i := range n {
		reseller := big
		if i%20 == 19 {
			reseller = small
		}
		w1, w2 := words[rng.IntN(len(words))], words[rng.IntN(len(words))]
		avail, used := rng.Int64N(50_000_000_000), rng.Int64N(50_000_000_000)
		note := ""
		if i%10 == 0 {
			note = fmt.Sprintf("invoice %d paid", rng.IntN(100_000))
		}
		at := created.Add(time.Duration(i) * time.Second)
		status := statuses[i%len(statuses)]
		if i%20_000 == 7 {
			status = "blocked" // rare: a few dozen in a million
		}
		users = append(users, []any{int64(i + 1), subgate.NewHash(), reseller, fmt.Sprintf("u%s_%07d", w1[:3], i), sealed,
			strings.ToUpper(w1[:1]) + w1[1:] + " " + w2, note, status, avail, used, at, at, int64(i + 1)})
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"subusers"},
		[]string{"id", "hash", "reseller_id", "username", "password", "name", "note", "status", "created_at", "updated_at", "seq"},
		pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
			u := users[i]
			return []any{u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[10], u[11], u[12]}, nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"totals"}, []string{"subuser_id", "reseller_id", "available", "used"},
		pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
			return []any{users[i][0], users[i][2], users[i][8], users[i][9]}, nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"balances"}, []string{"subuser_id", "product", "available", "used"},
		pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
			return []any{users[i][0], "res", users[i][8], users[i][9]}, nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`SELECT setval('subusers_id_seq', (SELECT max(id) FROM subusers))`,
		`SELECT setval('subuser_seq', (SELECT max(seq) FROM subusers))`,
		`INSERT INTO live_counts (reseller_id, stripe, n) SELECT reseller_id, 0, count(*) FROM subusers GROUP BY reseller_id`,
		// What autovacuum would do soon after such a load: statistics and a
		// visibility map for index-only counts.
		`VACUUM ANALYZE subusers`, `VACUUM ANALYZE balances`, `VACUUM ANALYZE totals`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlushWide measures one node's flush of a second's usage of 1000
// sub-users: one item and one lease release each.
func BenchmarkFlushWide(b *testing.B) {
	st := openStore(b)
	ctx := context.Background()
	r := &subgate.Reseller{Name: "wide"}
	if err := st.CreateReseller(ctx, r); err != nil {
		b.Fatal(err)
	}
	res := subgate.ProductResidential
	if _, err := st.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: subgate.MaxBytes}); err != nil {
		b.Fatal(err)
	}
	const users = 1000
	ids := make([]int64, users)
	for i := range ids {
		u := newSubUser(r.ID, fmt.Sprintf("wide_%d", i))
		if err := st.CreateSubUser(ctx, u, map[subgate.Product]int64{res: 1 << 40}, ""); err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	n := 0
	for b.Loop() {
		now := time.Now()
		batch := subgate.UsageBatch{ID: fmt.Sprint("wide-", n), Node: "n1", Now: now, LeaseTTL: time.Minute}
		for _, id := range ids {
			batch.Items = append(batch.Items, subgate.UsageItem{SubUserID: id, Product: res, Hour: subgate.HourOf(now), Bytes: 1000})
			batch.Release = append(batch.Release, subgate.LeaseRelease{SubUserID: id, Product: res, Bytes: 10})
		}
		if err := st.FlushUsage(ctx, batch); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/flush")
}
