package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/pgtest"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
)

// postgresURL opens a fresh schema on the test server, dropped at the end;
// the test fails when PostgreSQL is unreachable.
func postgresURL(t *testing.T) string {
	t.Helper()
	return pgtest.NewSchema(t, "subgate_web_").URL
}

// postgresEnv is an env with nothing served yet, and how to open a store
// (a node) on its fresh schema.
func postgresEnv(t *testing.T) (*env, func() *postgres.Store) {
	t.Helper()
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
	return e, open
}

// Two nodes on one PostgreSQL database share sessions: a login on one is
// valid on the other, and a logout on the other ends it on both.
func TestSessionsAreSharedByNodesOnPostgres(t *testing.T) {
	e, open := postgresEnv(t)
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

// The list's bulk action on PostgreSQL: another reseller's sub-user among
// the ticked ones changes none of them; without it, exactly the ticked ones
// change.
func TestBulkActionOnPostgres(t *testing.T) {
	e, open := postgresEnv(t)
	e.serve(open())
	r := e.reseller("Acme", "ops@acme.test", "right-password", 0)
	var us []*subgate.SubUser
	for _, name := range []string{"alice", "bob", "carol"} {
		us = append(us, e.subUser(r, subgate.SubUserCreate{Username: name}))
	}
	theirs := e.subUser(e.reseller("Rival", "ops@rival.test", "rival-password", 0), subgate.SubUserCreate{Username: "theirs"})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	action, csrf := bulkForm(t, b.get("/dashboard/subusers?sort=username&order=desc"))

	a := b.post(action, url.Values{"csrf": {csrf}, "action": {"disable"}, "id": append(ids(us[0], us[1]), ids(theirs)...)})
	if a.status != http.StatusNotFound || errorText(a.doc) == "" {
		t.Fatalf("with the rival's sub-user: %d %q", a.status, errorText(a.doc))
	}
	if st := statuses(t, e, r, us...); st["alice"] != subgate.StatusActive || st["bob"] != subgate.StatusActive {
		t.Fatalf("a refused bulk changed %v", st)
	}
	a = b.post(action, url.Values{"csrf": {csrf}, "action": {"disable"}, "id": ids(us[0], us[1])})
	if loc := a.header.Get("Location"); a.status != http.StatusSeeOther || loc != "/dashboard/subusers?done=bulk-disabled&n=2&order=desc&sort=username" {
		t.Fatalf("disable selected: %d to %q: %s", a.status, loc, errorText(a.doc))
	}
	if st := statuses(t, e, r, us...); st["alice"] != subgate.StatusDisabled || st["bob"] != subgate.StatusDisabled || st["carol"] != subgate.StatusActive {
		t.Errorf("after disabling alice and bob: %v", st)
	}
}
