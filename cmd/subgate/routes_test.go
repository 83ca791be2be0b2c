package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/subgate/subgate/route/routetest"
)

const upstreamPassword = "Stored-Upstream-Secret-77"

// routesFixture is an origin, a routes file sending res directly (private
// targets allowed, so the loopback origin is reachable) and an upstream
// proxy a stored configuration can send res through.
type routesFixture struct {
	origin   *httptest.Server
	upstream *routetest.Upstream
	file     string
}

func newRoutesFixture(t *testing.T) *routesFixture {
	t.Helper()
	f := &routesFixture{upstream: routetest.StartUpstream(t, "127.0.0.1", false)}
	f.origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	t.Cleanup(f.origin.Close)
	f.file = filepath.Join(t.TempDir(), "routes.json")
	if err := os.WriteFile(f.file, []byte(`{"allow_private_targets":true,"routes":{"res":{"kind":"direct"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// viaUpstream is the configuration an admin stores: res through the upstream.
func (f *routesFixture) viaUpstream() map[string]any {
	return map[string]any{"routes": map[string]any{"res": map[string]any{"kind": "upstream", "upstreams": []any{
		map[string]any{"name": "recorder", "address": f.upstream.Addr(), "username": "acct", "password": upstreamPassword},
	}}}}
}

// fetch gets the origin through a gateway as alice and fails the test unless it answers.
func (f *routesFixture) fetch(t *testing.T, proxyAddr string) {
	t.Helper()
	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("alice", "alicepw1"), Host: proxyAddr}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(f.origin.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("through the gateway: %d %q", resp.StatusCode, body)
	}
}

// throughUpstream fetches once and says whether the upstream opened a
// tunnel for it with the stored account's credentials.
func (f *routesFixture) throughUpstream(t *testing.T, proxyAddr string) bool {
	t.Helper()
	before := len(f.upstream.Records())
	f.fetch(t, proxyAddr)
	after := f.upstream.Records()
	if len(after) == before {
		return false
	}
	if got := after[len(after)-1]; got.User != "acct" || got.Pass != upstreamPassword {
		t.Fatalf("upstream got credentials %q:%q", got.User, got.Pass)
	}
	return true
}

// eventually polls cond until it holds, with a bound generous for a loaded machine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// adminCall sends one admin request to the API and decodes the answer.
func adminCall(t *testing.T, s *server, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), upstreamPassword) {
		t.Fatalf("%s %s shows the upstream password: %s", method, path, b)
	}
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func sourceOf(t *testing.T, s *server) string {
	t.Helper()
	var v struct{ Source string }
	if code := adminCall(t, s, "GET", "/v1/routes", nil, &v); code != 200 {
		t.Fatalf("GET /v1/routes: %d", code)
	}
	return v.Source
}

func makeAlice(t *testing.T, s *server) {
	t.Helper()
	s.ok(t, testAdminToken, "reseller", "create", "Acme")
	s.ok(t, testAdminToken, "reseller", "credit", "1", "1GB")
	tok := strings.TrimSpace(s.ok(t, testAdminToken, "reseller", "token", "1"))
	s.ok(t, tok, "subuser", "create", "alice", "--password", "alicepw1", "--traffic", "res=10MB")
}

// Routes put through the API outlive a restart, are sealed in the
// database, and a DELETE brings the routes file back.
func TestStoredRoutesOutliveARestart(t *testing.T) {
	t.Parallel()
	f := newRoutesFixture(t)
	env := serveEnv(t)
	t.Run("first run", func(t *testing.T) {
		s := startServe(t, env, "--routes", f.file)
		makeAlice(t, s)
		if src := sourceOf(t, s); src != "file" {
			t.Fatalf("source before PUT %q, want file", src)
		}
		if f.throughUpstream(t, proxyAddrOf(t, s)) {
			t.Fatal("the routes file sent res through the upstream")
		}
		if code := adminCall(t, s, "PUT", "/v1/routes", f.viaUpstream(), nil); code != 200 {
			t.Fatalf("PUT /v1/routes: %d", code)
		}
		if !f.throughUpstream(t, proxyAddrOf(t, s)) {
			t.Fatal("after PUT res did not go through the upstream")
		}
	}) // the server stops here

	// The raw row holds no password in plain text.
	db, err := sql.Open("sqlite", env["SUBGATE_DB"])
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	err = db.QueryRow(`SELECT config FROM stored_routes`).Scan(&raw)
	db.Close()
	if err != nil || len(raw) == 0 {
		t.Fatalf("stored row: %d bytes, %v", len(raw), err)
	}
	if bytes.Contains(raw, []byte(upstreamPassword)) || bytes.Contains(raw, []byte("recorder")) {
		t.Fatal("the stored routes are readable in the database")
	}

	s := startServe(t, env, "--routes", f.file)
	if src := sourceOf(t, s); src != "stored" {
		t.Fatalf("source after restart %q, want stored", src)
	}
	proxyAddr := proxyAddrOf(t, s)
	if !f.throughUpstream(t, proxyAddr) {
		t.Fatal("after a restart res did not go through the stored upstream")
	}
	var dropped struct{ Source string }
	if code := adminCall(t, s, "DELETE", "/v1/routes", nil, &dropped); code != 200 || dropped.Source != "file" {
		t.Fatalf("DELETE /v1/routes: %d, source %q", code, dropped.Source)
	}
	if f.throughUpstream(t, proxyAddr) {
		t.Fatal("after DELETE res still went through the upstream")
	}
}

// startGateway runs "subgate gateway" with env until the test ends and
// returns the address its proxy listens on.
func startGateway(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	return proxyAddrOf(t, runGateway(t, env, args...))
}

// runGateway runs "subgate gateway" with env until the test ends.
func runGateway(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	a := &app{stdout: s.stdout, stderr: s.stderr, getenv: mapEnv(env)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- a.main(ctx, append([]string{"gateway", "--proxy-addr", "127.0.0.1:0"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("gateway stopped with %d: %s", code, s.stderr)
			}
		case <-time.After(15 * time.Second):
			t.Error("gateway did not shut down")
		}
	})
	return s
}

// Two nodes on one PostgreSQL database: routes put through one are followed
// by the other's new connections, and a DELETE takes both back to the file.
func TestStoredRoutesReachEveryNode(t *testing.T) {
	t.Parallel()
	f := newRoutesFixture(t)
	dbURL := freshSchema(t)
	env := map[string]string{
		"SUBGATE_DB":          dbURL,
		"SUBGATE_SECRET_KEY":  strings.Repeat("cd", 32),
		"SUBGATE_ADMIN_TOKEN": testAdminToken,
	}
	api := startServe(t, env, "--routes", f.file)
	makeAlice(t, api)
	other := startGateway(t, env, "--routes", f.file)
	if f.throughUpstream(t, other) {
		t.Fatal("the routes file sent res through the upstream")
	}

	if code := adminCall(t, api, "PUT", "/v1/routes", f.viaUpstream(), nil); code != 200 {
		t.Fatalf("PUT /v1/routes: %d", code)
	}
	eventually(t, "the other node follows the stored routes", func() bool { return f.throughUpstream(t, other) })

	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	err = conn.QueryRow(context.Background(), `SELECT config FROM stored_routes`).Scan(&raw)
	conn.Close(context.Background())
	if err != nil || len(raw) == 0 {
		t.Fatalf("stored row: %d bytes, %v", len(raw), err)
	}
	if bytes.Contains(raw, []byte(upstreamPassword)) {
		t.Fatal("the upstream password is stored in plain text")
	}

	if code := adminCall(t, api, "DELETE", "/v1/routes", nil, nil); code != 200 {
		t.Fatalf("DELETE /v1/routes: %d", code)
	}
	eventually(t, "the other node goes back to the routes file", func() bool { return !f.throughUpstream(t, other) })
}
