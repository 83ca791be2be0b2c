package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/storetest"
)

func benchCipher(b testing.TB) subgate.Cipher {
	c, err := secret.New(bytes.Repeat([]byte{5}, secret.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func openBench(b *testing.B) *Store {
	return openFile(b, filepath.Join(b.TempDir(), "bench.db"))
}

// openFile opens a store on the file at path, closed when the test ends.
func openFile(b testing.TB, path string) *Store {
	s, err := Open(path, benchCipher(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) subgate.Store { return openBench(b) })
}

// words name sub-users in the large data set; each word is in about 1 in
// len(words) names, so searching one is a term of middling frequency.
var words = []string{"amber", "basil", "cedar", "delta", "ember", "fjord", "gale", "harbor", "iris", "juniper",
	"kestrel", "lumen", "maple", "nectar", "onyx", "pebble", "quartz", "raven", "sable", "tundra",
	"umber", "velvet", "willow", "xenon", "yarrow", "zephyr", "acorn", "birch", "coral", "dune",
	"elm", "fern", "grove", "heath", "ivy", "jade", "kelp", "lark", "moss", "north",
	"oak", "pine", "quill", "reed", "sage", "thorn", "vale", "wren", "yew", "zinc"}

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// token returns the 4-character tag of row i: about one row in 1.7M shares it.
func token(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 99))
	b := make([]byte, 4)
	for j := range b {
		b[j] = tokenAlphabet[r.IntN(len(tokenAlphabet))]
	}
	return string(b)
}

// bulkLoad inserts n sub-users of one reseller in large transactions,
// bypassing the per-row bookkeeping of CreateSubUser (no ledger). The
// sub-user indexes and search triggers are dropped for the load and built
// again afterwards, which is far quicker than keeping them up row by row.
func bulkLoad(b testing.TB, s *Store, n int) int64 {
	ctx := context.Background()
	rebuild := dropSubUserIndexes(b, s)
	defer rebuild()
	r := &subgate.Reseller{Name: "big"}
	if err := s.CreateReseller(ctx, r); err != nil {
		b.Fatal(err)
	}
	sealed, err := s.cipher.Seal([]byte("bench-password"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 20_000
	for start := 0; start < n; start += batch {
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		ins, _ := tx.PrepareContext(ctx, `INSERT INTO subusers (id, hash, reseller_id, username, password, name, note, status,
			total_available, total_used, created_at, updated_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		bal, _ := tx.PrepareContext(ctx, `INSERT INTO balances (subuser_id, product, available, used) VALUES (?, 'res', ?, ?)`)
		for i := start; i < min(start+batch, n); i++ {
			id := int64(i + 1)
			status := "active"
			if rng.IntN(10) == 0 {
				status = "disabled"
			} else if i%20_000 == 7 {
				status = "blocked" // rare: a few dozen in a million
			}
			note := ""
			if rng.IntN(20) == 0 {
				note = "vip " + words[rng.IntN(len(words))]
			}
			avail, used := rng.Int64N(10_000_000_000), rng.Int64N(10_000_000_000)
			if _, err := ins.ExecContext(ctx, id, subgate.NewHash(), r.ID, "user_"+strconv.Itoa(i+1), sealed,
				words[rng.IntN(len(words))]+" "+token(i), note, status, avail, used, now+id, now+id, id); err != nil {
				b.Fatal(err)
			}
			if _, err := bal.ExecContext(ctx, id, avail, used); err != nil {
				b.Fatal(err)
			}
		}
		ins.Close()
		bal.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE resellers SET live_subusers = ? WHERE id = ?`, n, r.ID); err != nil {
		b.Fatal(err)
	}
	return r.ID
}

// dropSubUserIndexes drops the sub-user indexes and triggers and returns a
// function that recreates them from their stored definitions and refills
// the search index.
func dropSubUserIndexes(b testing.TB, s *Store) func() {
	ctx := context.Background()
	exec := func(q string) {
		if _, err := s.write.DB.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	rows, err := s.write.DB.QueryContext(ctx, `SELECT type, name, sql FROM sqlite_master
		WHERE tbl_name = 'subusers' AND type IN ('index', 'trigger') AND sql IS NOT NULL`)
	if err != nil {
		b.Fatal(err)
	}
	var indexes, triggers []string
	var drops []string
	for rows.Next() {
		var typ, name, ddl string
		if err := rows.Scan(&typ, &name, &ddl); err != nil {
			b.Fatal(err)
		}
		if typ == "index" {
			indexes = append(indexes, ddl)
		} else {
			triggers = append(triggers, ddl)
		}
		drops = append(drops, "DROP "+strings.ToUpper(typ)+" "+name)
	}
	rows.Close()
	for _, d := range drops {
		exec(d)
	}
	exec(`PRAGMA synchronous = OFF`)
	return func() {
		for _, ddl := range indexes {
			exec(ddl)
		}
		exec(`INSERT INTO subusers_fts (subusers_fts) VALUES ('rebuild')`)
		// A rebuild leaves segments that every later write would merge
		// with; one optimize leaves a single segment, as steady growth would.
		exec(`INSERT INTO subusers_fts (subusers_fts) VALUES ('optimize')`)
		for _, ddl := range triggers {
			exec(ddl)
		}
		exec(`PRAGMA synchronous = NORMAL`)
		exec(`PRAGMA optimize`)
	}
}

// benchSeedDirEnv names the environment variable of a directory where the
// list benchmark keeps its loaded databases between runs (unset: load on
// every run). A kept file is named by its size and a digest of the schema
// and of the load, so a changed migration or data set loads afresh; files
// of earlier schemas stay until removed.
const benchSeedDirEnv = "SUBGATE_BENCH_SEED_DIR"

// seedVersion names the data bulkLoad writes; change it when that changes.
const seedVersion = "1"

// seededStore opens a store on a file of its own holding n bulk-loaded
// sub-users and returns it with their reseller's id, copying a kept load
// when there is one.
func seededStore(b *testing.B, n int) (*Store, int64) {
	path := filepath.Join(b.TempDir(), "bench.db")
	var kept string
	if dir := os.Getenv(benchSeedDirEnv); dir != "" {
		kept = filepath.Join(dir, seedName(b, n))
		err := copyFile(kept, path)
		if err == nil {
			b.Logf("copied %d loaded sub-users from %s", n, kept)
			s := openFile(b, path)
			var rid int64
			if err := s.read.QueryRow(`SELECT id FROM resellers WHERE name = 'big'`).Scan(&rid); err != nil {
				b.Fatal(err)
			}
			return s, rid
		}
		if !errors.Is(err, fs.ErrNotExist) {
			b.Fatal(err)
		}
	}
	s := openFile(b, path)
	start := time.Now()
	rid := bulkLoad(b, s, n)
	b.Logf("loaded %d sub-users in %v", n, time.Since(start).Round(time.Millisecond))
	// The file alone holds the load once the log is checkpointed into it.
	if _, err := s.write.ExecContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	// A server meets a large database on fresh connections. The load's
	// index rebuild leaves the writer's in-memory search-index buffer sized
	// for every loaded row, which every later commit would pay to clear.
	s.Close()
	if kept != "" {
		keep(b, path, kept)
	}
	return openFile(b, path), rid
}

// seedName names a kept load of n sub-users under the current schema.
func seedName(b testing.TB, n int) string {
	ms, err := storeutil.Migrations(migrationFiles, "migrations")
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	io.WriteString(h, seedVersion)
	for _, m := range ms {
		fmt.Fprintf(h, "\x00%s\x00%s", m.File, m.SQL)
	}
	return fmt.Sprintf("sqlite-list-%d-%s.db", n, hex.EncodeToString(h.Sum(nil))[:16])
}

// keep copies a loaded file to kept through a temporary name, so that a
// run never copies a half-written load.
func keep(b testing.TB, path, kept string) {
	if err := os.MkdirAll(filepath.Dir(kept), 0o755); err != nil {
		b.Fatal(err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(kept), filepath.Base(kept)+".*.part")
	if err != nil {
		b.Fatal(err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := copyFile(path, tmp.Name()); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), kept); err != nil {
		b.Fatal(err)
	}
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// BenchmarkList measures list and search pages of 50 over n sub-users
// (storetest.BenchSubUsers: set SUBGATE_BENCH_SUBUSERS=1000000 for the
// figures in the README) and creates on top of them.
func BenchmarkList(b *testing.B) {
	n := storetest.BenchSubUsers(b)
	s, rid := seededStore(b, n)
	scope := subgate.Scope(rid)
	cases := []struct {
		name  string
		f     subgate.SubUserFilter
		pages int // offset pages are drawn from the first pages
	}{
		{"list/id", subgate.SubUserFilter{Scope: scope}, 200},
		{"list/id-admin", subgate.SubUserFilter{}, 200},
		{"list/used-desc", subgate.SubUserFilter{Scope: scope, Sort: subgate.SortUsed, Desc: true}, 200},
		{"list/available", subgate.SubUserFilter{Scope: scope, Sort: subgate.SortAvailable}, 200},
		{"list/username", subgate.SubUserFilter{Scope: scope, Sort: subgate.SortUsername}, 200},
		{"list/created-desc", subgate.SubUserFilter{Scope: scope, Sort: subgate.SortCreatedAt, Desc: true}, 200},
		{"list/status-sort", subgate.SubUserFilter{Scope: scope, Sort: subgate.SortStatus, Desc: true}, 200},
		{"list/disabled", subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled}, 200},
		{"list/disabled-used", subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled, Sort: subgate.SortUsed, Desc: true}, 1},
		{"list/disabled-used-deep", subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled, Sort: subgate.SortUsed, Desc: true}, 200},
		{"list/admin-disabled-used", subgate.SubUserFilter{Status: subgate.StatusDisabled, Sort: subgate.SortUsed, Desc: true}, 200},
		{"list/blocked-used", subgate.SubUserFilter{Scope: scope, Status: subgate.StatusBlocked, Sort: subgate.SortUsed, Desc: true}, 1},
		{"list/total", subgate.SubUserFilter{Scope: scope, WithTotal: true}, 200},
		{"count/disabled-exact", subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled, WithTotal: true}, 200},
		{"count/disabled-estimate", subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled, WithTotal: true, EstimateTotal: true}, 200},
		{"count/word-exact", subgate.SubUserFilter{Scope: scope, Search: "juniper", WithTotal: true}, 20},
		{"count/word-estimate", subgate.SubUserFilter{Scope: scope, Search: "juniper", WithTotal: true, EstimateTotal: true}, 20},
		{"search/common", subgate.SubUserFilter{Scope: scope, Search: "user_"}, 200},
		{"search/word-id", subgate.SubUserFilter{Scope: scope, Search: "juniper"}, 20},
		{"search/word-used", subgate.SubUserFilter{Scope: scope, Search: "juniper", Sort: subgate.SortUsed, Desc: true}, 3},
		{"search/word-used-deep", subgate.SubUserFilter{Scope: scope, Search: "juniper", Sort: subgate.SortUsed, Desc: true}, 20},
		{"search/vip-used", subgate.SubUserFilter{Scope: scope, Search: "vip", Sort: subgate.SortUsed, Desc: true}, 20},
		{"search/admin-word-used", subgate.SubUserFilter{Search: "juniper", Sort: subgate.SortUsed, Desc: true}, 3},
		{"search/disabled-word-used", subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled, Search: "juniper", Sort: subgate.SortUsed, Desc: true}, 20},
		{"search/vip-note", subgate.SubUserFilter{Scope: scope, Search: "vip", Sort: subgate.SortUsername}, 20},
		{"search/rare-token", subgate.SubUserFilter{Scope: scope, Search: "$token"}, 1},
		{"search/rare-username", subgate.SubUserFilter{Scope: scope, Search: "$username", Sort: subgate.SortUsed}, 1},
		{"search/none", subgate.SubUserFilter{Scope: scope, Search: "nothing-matches"}, 1},
		{"search/short", subgate.SubUserFilter{Scope: scope, Search: "q7"}, 3},
		{"search/rare-total", subgate.SubUserFilter{Scope: scope, Search: "$token", WithTotal: true}, 1},
	}
	ctx := context.Background()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			var lat []time.Duration
			for b.Loop() {
				f := c.f
				switch f.Search {
				case "$token":
					f.Search = token(rng.IntN(n))
				case "$username":
					f.Search = "user_" + strconv.Itoa(10_000+rng.IntN(90_000))
				}
				f.Offset = rng.IntN(c.pages) * 50
				t := time.Now()
				page, err := s.SubUsers(ctx, f)
				lat = append(lat, time.Since(t))
				if err != nil {
					b.Fatal(err)
				}
				if c.pages > 1 && len(page.Items) == 0 && f.Offset == 0 {
					b.Fatalf("%s: empty first page", c.name)
				}
			}
			reportLatency(b, lat)
		})
	}
	for _, w := range []struct {
		name string
		f    subgate.SubUserFilter
	}{
		{"cursor-walk/id", subgate.SubUserFilter{Scope: scope}},
		{"cursor-walk/disabled", subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled}},
		{"cursor-walk/search-word", subgate.SubUserFilter{Scope: scope, Search: "juniper"}},
		{"cursor-walk/search-vip-used", subgate.SubUserFilter{Scope: scope, Search: "vip", Sort: subgate.SortUsed, Desc: true}},
		{"cursor-walk/used-desc", subgate.SubUserFilter{Scope: scope, Sort: subgate.SortUsed, Desc: true}},
		{"cursor-walk/disabled-used", subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled, Sort: subgate.SortUsed, Desc: true}},
		{"cursor-walk/search-word-used", subgate.SubUserFilter{Scope: scope, Search: "juniper", Sort: subgate.SortUsed, Desc: true}},
	} {
		b.Run(w.name, func(b *testing.B) {
			f := w.f
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				page, err := s.SubUsers(ctx, f)
				lat = append(lat, time.Since(t))
				if err != nil {
					b.Fatal(err)
				}
				f.After = page.Next
			}
			reportLatency(b, lat)
		})
	}
	b.Run("create-at-n", func(b *testing.B) {
		if _, err := s.CreditPool(ctx, subgate.PoolCredit{ResellerID: rid, Product: subgate.ProductResidential, Bytes: subgate.MaxBytes / 2}); err != nil {
			b.Fatal(err)
		}
		i := 0
		begin := time.Now()
		for b.Loop() {
			u := &subgate.SubUser{ResellerID: rid, Username: fmt.Sprintf("new_%d", i), Password: "bench-pw",
				Name: "fresh " + token(n+i), Status: subgate.StatusActive}
			if err := s.CreateSubUser(ctx, u, map[subgate.Product]int64{subgate.ProductResidential: 1000}, ""); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(i)/time.Since(begin).Seconds(), "creates/s")
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
