package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate/internal/pgtest"
)

// keepSeedEnv set to 1 keeps BenchmarkList's seeded schema after the run and
// reuses it in later runs of the same size and migrations, which saves the
// minutes a large seed takes; set to "drop" it drops every kept schema first
// and seeds a throwaway one, as when unset.
const keepSeedEnv = "SUBGATE_BENCH_KEEP_SEED"

// keptSchemaPrefix names the kept schemas: the prefix, the number of
// sub-users and a digest of the migrations they were seeded under.
const keptSchemaPrefix = "subgate_bench_list_"

// listSeedVersion is part of a kept schema's digest: change it whenever
// bulkLoad changes what it seeds.
const listSeedVersion = 1

// seededMark is the kept schema's comment once its seed is complete: a run
// stopped while seeding leaves a schema without it, which the next run drops.
const seededMark = "seeded"

// listBenchDB returns the schema for BenchmarkList of n sub-users and
// whether it already holds them.
func listBenchDB(b *testing.B, n int) (db *testDB, seeded bool) {
	switch mode := os.Getenv(keepSeedEnv); mode {
	case "":
		return newTestDB(b), false
	case "drop":
		dropKeptSchemas(b)
		return newTestDB(b), false
	case "1":
	default:
		b.Fatalf("%s=%q: want 1 or drop", keepSeedEnv, mode)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.BaseURL())
	if err != nil {
		b.Fatalf("PostgreSQL is unreachable: %v", err)
	}
	b.Cleanup(func() { admin.Close(context.Background()) })
	schema := fmt.Sprintf("%s%d_%s", keptSchemaPrefix, n, migrationsDigest(b))
	var mark *string
	err = admin.QueryRow(ctx, `SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1`, schema).Scan(&mark)
	switch {
	case err == nil && mark != nil && *mark == seededMark:
		seeded = true
	case err == nil: // an unfinished seed
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			b.Fatal(err)
		}
		fallthrough
	case err == pgx.ErrNoRows:
		if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
			b.Fatal(err)
		}
	default:
		b.Fatal(err)
	}
	u, err := url.Parse(pgtest.BaseURL())
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	b.Logf("%s: schema %s kept (reused: %v)", keepSeedEnv, schema, seeded)
	return &testDB{admin: admin, schema: schema, url: u.String()}, seeded
}

// markSeeded records that db's seed is complete, if db is a kept schema.
func markSeeded(b *testing.B, db *testDB) {
	if os.Getenv(keepSeedEnv) != "1" {
		return
	}
	if _, err := db.admin.Exec(context.Background(), `COMMENT ON SCHEMA `+db.schema+` IS '`+seededMark+`'`); err != nil {
		b.Fatal(err)
	}
}

// dropKeptSchemas drops every schema BenchmarkList kept.
func dropKeptSchemas(b *testing.B) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.BaseURL())
	if err != nil {
		b.Fatalf("PostgreSQL is unreachable: %v", err)
	}
	defer admin.Close(ctx)
	rows, err := admin.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, keptSchemaPrefix)
	if err != nil {
		b.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range names {
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{s}.Sanitize()+` CASCADE`); err != nil {
			b.Fatal(err)
		}
		b.Logf("dropped kept schema %s", s)
	}
}

// migrationsDigest is a short digest of the migration files' names and
// contents and of the seed's version: a kept seed is reused only under the
// migrations and the seed it was made with.
func migrationsDigest(b *testing.B) string {
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		b.Fatalf("migrations: %v (%d files)", err, len(files))
	}
	slices.Sort(files)
	h := sha256.New()
	fmt.Fprintf(h, "seed %d\x00", listSeedVersion)
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f), len(body))
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}
