// Package pgtest gives tests a fresh schema on the real PostgreSQL server
// the test suite runs against (127.0.0.1:5432 unless SUBGATE_TEST_POSTGRES
// says otherwise). A test that needs it fails, never skips, when the server
// is unreachable.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the test server when SUBGATE_TEST_POSTGRES is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// BaseURL is the test server's URL.
func BaseURL() string {
	if u := os.Getenv("SUBGATE_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultURL
}

// DB is a fresh schema of the test database, dropped when the test ends.
type DB struct {
	Admin  *pgx.Conn // outside the schema, to inspect and clean up
	Schema string
	URL    string // connects with search_path set to the schema
}

// NewSchema creates a schema named prefix plus random hex.
func NewSchema(t testing.TB, prefix string) *DB {
	t.Helper()
	base := BaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL is unreachable at %s: %v\n"+
			"These tests need a real server: start one, or point them at one with\n"+
			"  SUBGATE_TEST_POSTGRES=postgres://USER@HOST:PORT/DB?sslmode=disable", base, err)
	}
	rnd := make([]byte, 6)
	rand.Read(rnd)
	schema := prefix + hex.EncodeToString(rnd)
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close(context.Background())
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("SUBGATE_TEST_POSTGRES must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return &DB{Admin: admin, Schema: schema, URL: u.String()}
}
