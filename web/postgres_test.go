package web_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
)

// postgresURL opens a fresh schema on the test server, dropped at the end;
// the test fails when PostgreSQL is unreachable.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("SUBGATE_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL is unreachable at %s: %v (set SUBGATE_TEST_POSTGRES to point elsewhere)", base, err)
	}
	rnd := make([]byte, 6)
	rand.Read(rnd)
	schema := "subgate_web_" + hex.EncodeToString(rnd)
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Two nodes on one PostgreSQL database share sessions: a login on one is
// valid on the other, and a logout on the other ends it on both.
func TestSessionsAreSharedByNodesOnPostgres(t *testing.T) {
	dbURL := postgresURL(t)
	cipher, err := secret.New(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	open := func() *postgres.Store {
		st, err := postgres.Open(context.Background(), dbURL, cipher)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	e := &env{t: t, handle: &swapHandler{}}
	e.srv = httptest.NewServer(e.handle)
	t.Cleanup(e.srv.Close)
	nodeA, nodeB := open(), open()

	e.serve(nodeA)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 5*subgate.BytesPerGB)
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	newPage := b.get("/dashboard/subusers/new")
	a := b.post("/dashboard/subusers", url.Values{"csrf": {inputValue(newPage.doc, "csrf")}, "key": {inputValue(newPage.doc, "key")},
		"username": {"alice"}, "traffic.res": {"1.5"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("create on node A: %d: %s", a.status, errorText(a.doc))
	}
	detail := a.header.Get("Location")

	e.serve(nodeB)
	if a := b.get(detail); a.status != http.StatusOK || text(byID(a.doc, "cred-user")) != "alice" {
		t.Fatalf("node B with node A's session: %d", a.status)
	}
	if l := audit(t, e, r.ID)["res"]; l.Pool != 3_500_000_000 || l.Available != 1_500_000_000 {
		t.Errorf("books %+v", l)
	}
	copied := *b.sessionCookie()
	if a := b.post("/dashboard/logout", url.Values{"csrf": {b.csrf()}}); a.status != http.StatusSeeOther {
		t.Fatalf("logout on node B: %d", a.status)
	}
	e.serve(nodeA)
	other := e.browser()
	u, _ := url.Parse(e.srv.URL + "/dashboard/")
	other.client.Jar.SetCookies(u, []*http.Cookie{{Name: copied.Name, Value: copied.Value, Path: "/dashboard"}})
	if a := other.get(detail); a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/login" {
		t.Errorf("node A with the session ended on node B: %d, want a redirect to sign in", a.status)
	}
}
