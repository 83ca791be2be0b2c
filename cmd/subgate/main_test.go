package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAdminToken = "cli-admin-token-0123456789abcdef"

// syncBuffer is a buffer commands may write to from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// server is a "subgate serve" running in the test.
type server struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
}

// startServe runs serve with env until the test ends, and checks that it
// then shuts down cleanly.
func startServe(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	if _, ok := env["SUBGATE_STORE_TIMEOUT"]; !ok {
		// The deadline covers a request's whole work, and the race detector
		// on a loaded machine makes hashing one password take seconds: only
		// the outage tests want the production deadline.
		env = maps.Clone(env)
		env["SUBGATE_STORE_TIMEOUT"] = "1m"
	}
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	addrs := make(chan net.Addr, 1)
	a := &app{stdout: s.stdout, stderr: s.stderr, getenv: mapEnv(env), onListen: func(addr net.Addr) { addrs <- addr }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- a.main(ctx, append([]string{"serve", "--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0"}, args...))
	}()
	select {
	case addr := <-addrs:
		s.url = "http://" + addr.String()
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d: %s", code, s.stderr)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve did not start: %s", s.stderr)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve stopped with %d: %s", code, s.stderr)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	return s
}

// cli runs one client command against the server.
func (s *server) cli(t *testing.T, token string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut syncBuffer
	a := &app{stdout: &out, stderr: &errOut, getenv: mapEnv(map[string]string{"SUBGATE_API_URL": s.url, "SUBGATE_TOKEN": token})}
	code := a.main(context.Background(), args)
	return out.String(), errOut.String(), code
}

// ok runs a command that must succeed and returns its output.
func (s *server) ok(t *testing.T, token string, args ...string) string {
	t.Helper()
	out, errOut, code := s.cli(t, token, args...)
	if code != 0 {
		t.Fatalf("subgate %s: exit %d: %s%s", strings.Join(args, " "), code, errOut, out)
	}
	return out
}

func serveEnv(t *testing.T) map[string]string {
	return map[string]string{
		"SUBGATE_DB":          filepath.Join(t.TempDir(), "subgate.db"),
		"SUBGATE_ADMIN_TOKEN": testAdminToken,
	}
}

func TestCLIEndToEnd(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveEnv(t))
	admin := testAdminToken

	out := s.ok(t, admin, "reseller", "create", "Acme", "--email", "ops@acme.test", "--password", "correct horse")
	if !strings.Contains(out, "Acme") {
		t.Fatalf("reseller create: %s", out)
	}
	out = s.ok(t, admin, "reseller", "credit", "1", "100GB")
	if !strings.Contains(out, "100.00 GB") {
		t.Fatalf("credit: %s", out)
	}
	s.ok(t, admin, "reseller", "credit", "1", "1500", "--product", "dc")
	tok := strings.TrimSpace(s.ok(t, admin, "reseller", "token", "1"))
	if !strings.HasPrefix(tok, "sgr_") {
		t.Fatalf("token %q", tok)
	}
	out = s.ok(t, admin, "reseller", "list")
	if !strings.Contains(out, "res=100.00 GB") || !strings.Contains(out, "dc=1.50 KB") {
		t.Fatalf("reseller list: %s", out)
	}

	out = s.ok(t, tok, "subuser", "create", "alice", "--traffic", "res=10GB", "--daily", "1GB", "--note", "first", "--allow-ip", "203.0.113.0/24")
	if !strings.Contains(out, "10.00 GB available") || !strings.Contains(out, "limit daily") {
		t.Fatalf("subuser create: %s", out)
	}
	var u struct {
		ID       int64
		Hash     string
		Password string
		Traffic  map[string]struct{ Available int64 }
	}
	showJSON := func(ref string) {
		t.Helper()
		if err := json.Unmarshal([]byte(s.ok(t, tok, "subuser", "show", ref, "--output", "json")), &u); err != nil {
			t.Fatal(err)
		}
	}
	showJSON("1")
	if u.Traffic["res"].Available != 10_000_000_000 || u.Hash == "" {
		t.Fatalf("show: %+v", u)
	}
	s.ok(t, tok, "subuser", "give", u.Hash, "4GB")
	s.ok(t, tok, "subuser", "give", "alice", "1GB") // a username works too
	s.ok(t, tok, "subuser", "take", "1", "2.5GB", "--product", "res")
	showJSON(u.Hash)
	if u.Traffic["res"].Available != 12_500_000_000 {
		t.Fatalf("after give and take: %+v", u)
	}
	if out := s.ok(t, tok, "subuser", "disable", "1"); !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %s", out)
	}
	s.ok(t, tok, "subuser", "enable", "1")
	s.ok(t, tok, "subuser", "passwd", "1", "n3wSecret")
	showJSON("1")
	if u.Password != "n3wSecret" {
		t.Fatalf("passwd: %+v", u)
	}
	s.ok(t, tok, "subuser", "update", "ALICE", "--note", "changed", "--monthly", "20GB", "--expires", "2099-01-01T00:00:00Z")
	out = s.ok(t, tok, "subuser", "show", "1")
	if !strings.Contains(out, "changed") || !strings.Contains(out, "limit monthly") || !strings.Contains(out, "limit daily") || !strings.Contains(out, "2099-01-01") {
		t.Fatalf("update: %s", out)
	}
	bob := s.ok(t, tok, "subuser", "create", "bob", "--idempotency-key", "create-bob", "--output", "json")
	if again := s.ok(t, tok, "subuser", "create", "bob", "--idempotency-key", "create-bob", "--output", "json"); again != bob {
		t.Fatalf("retried create answered differently:\n%s\n%s", bob, again)
	}
	out = s.ok(t, tok, "subuser", "list", "--sort", "username", "--order", "desc")
	if i, j := strings.Index(out, "bob"), strings.Index(out, "alice"); i < 0 || j < 0 || i > j {
		t.Fatalf("list: %s", out)
	}
	if out := s.ok(t, tok, "subuser", "list", "--search", "bo", "--output", "json"); !strings.Contains(out, `"total": 1`) {
		t.Fatalf("list --search: %s", out)
	}
	out = s.ok(t, tok, "subuser", "delete", "1")
	if !strings.Contains(out, "res=100.00 GB") {
		t.Fatalf("delete did not return the traffic: %s", out)
	}
	if out := s.ok(t, tok, "subuser", "usage", "bob", "--granularity", "hour"); !strings.Contains(out, "total") {
		t.Fatalf("usage: %s", out)
	}
	if _, errOut, code := s.cli(t, tok, "subuser", "usage", "bob", "--granularity", "week"); code != 1 || !strings.Contains(errOut, "field granularity") {
		t.Fatalf("bad granularity: %d %s", code, errOut)
	}
	out = s.ok(t, admin, "reseller", "tokens", "1")
	if !strings.Contains(out, tok[:8]) {
		t.Fatalf("tokens: %s", out)
	}
	out = s.ok(t, tok, "reseller", "me")
	if !strings.Contains(out, "sub-users  1") {
		t.Fatalf("me: %s", out)
	}
	s.ok(t, admin, "reseller", "revoke", "1", "1")
	if _, errOut, code := s.cli(t, tok, "reseller", "me"); code != 1 || !strings.Contains(errOut, "HTTP 401") {
		t.Fatalf("revoked token still works: %d %s", code, errOut)
	}
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveEnv(t))
	s.ok(t, testAdminToken, "reseller", "create", "Acme")
	tok := strings.TrimSpace(s.ok(t, testAdminToken, "reseller", "token", "1"))

	for _, c := range []struct {
		token string
		args  []string
		code  int
		msg   string
	}{
		{tok, []string{"subuser", "create", "alice", "--traffic", "res=10GB"}, 1, "HTTP 422"},
		{tok, []string{"subuser", "create", "a-b"}, 1, "field username"},
		{tok, []string{"subuser", "show", "99"}, 1, "HTTP 404"},
		{tok, []string{"reseller", "credit", "1", "5GB"}, 1, "HTTP 403"},
		{"wrong", []string{"subuser", "list"}, 1, "HTTP 401"},
		{"", []string{"subuser", "list"}, 1, "no API token"},
		{tok, []string{"subuser", "give", "1", "lots"}, 1, "not a size"},
		{tok, []string{"subuser", "give", "1"}, 2, "want a sub-user id, hash or username and an amount"},
		{tok, []string{"subuser", "list", "--output", "yaml"}, 1, "--output"},
		{tok, []string{"subuser", "frobnicate"}, 2, "unknown subuser command"},
		{tok, []string{"subuser", "list", "--nope"}, 2, "flag provided but not defined"},
		{tok, []string{"dance"}, 2, "unknown command"},
	} {
		out, errOut, code := s.cli(t, c.token, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("subgate %s: exit %d, stderr %q, stdout %q; want exit %d mentioning %q",
				strings.Join(c.args, " "), code, errOut, out, c.code, c.msg)
		}
	}
	// --help is not an error and explains the command.
	_, errOut, code := s.cli(t, tok, "subuser", "give", "--help")
	if code != 0 || !strings.Contains(errOut, "Usage: subgate subuser give") || !strings.Contains(errOut, "-product") {
		t.Errorf("help: %d %s", code, errOut)
	}
	out, _, code := s.cli(t, tok, "version")
	if code != 0 || !strings.HasPrefix(out, "subgate ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestServeGeneratesTheAdminTokenOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SUBGATE_DB": filepath.Join(dir, "data.db")}
	s := startServe(t, env)
	out := s.stdout.String()
	i := strings.Index(out, "sga_")
	if i < 0 {
		t.Fatalf("no admin token printed: %q", out)
	}
	token := strings.Fields(out[i:])[0]
	s.ok(t, token, "reseller", "list")
	if !strings.Contains(s.stderr.String(), "data.key") {
		t.Errorf("the key file is not announced next to the database: %s", s.stderr)
	}
}

func TestServeKeepsTheAdminTokenAcrossRestarts(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SUBGATE_DB": filepath.Join(t.TempDir(), "data.db")}
	first := &syncBuffer{}
	a := &app{stdout: first, stderr: &syncBuffer{}, getenv: mapEnv(env)}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	a.onListen = func(addr net.Addr) { addrs <- addr; cancel() }
	if code := a.main(ctx, []string{"serve", "--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0"}); code != 0 {
		t.Fatalf("first serve: %d", code)
	}
	token := strings.Fields(first.String()[strings.Index(first.String(), "sga_"):])[0]
	s := startServe(t, env)
	if strings.Contains(s.stdout.String(), "sga_") {
		t.Fatalf("a second token was printed: %s", s.stdout)
	}
	// Proxy passwords written before the restart are still readable: the
	// same key file was used.
	s.ok(t, token, "reseller", "create", "Acme")
	s.ok(t, token, "subuser", "create", "alice", "--password", "keepMe1", "--reseller-id", "1")
	s2 := startServe(t, env)
	if out := s2.ok(t, token, "subuser", "show", "1"); !strings.Contains(out, "keepMe1") {
		t.Fatalf("password after restart: %s", out)
	}
}

// A database refuses to start with another key than the one it was sealed
// with, instead of silently making every proxy password unreadable.
func TestServeRefusesAnotherSecretKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SUBGATE_DB": filepath.Join(dir, "data.db"), "SUBGATE_ADMIN_TOKEN": testAdminToken}
	runOnce := func(env map[string]string) (int, string) {
		var errOut syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a := &app{stdout: &syncBuffer{}, stderr: &errOut, getenv: mapEnv(env), onListen: func(net.Addr) { cancel() }}
		return a.main(ctx, []string{"serve", "--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0"}), errOut.String()
	}
	if code, out := runOnce(env); code != 0 {
		t.Fatalf("first start: %d %s", code, out)
	}
	if code, out := runOnce(env); code != 0 {
		t.Fatalf("restart with the same key file: %d %s", code, out)
	}
	if err := os.Remove(filepath.Join(dir, "data.key")); err != nil {
		t.Fatal(err)
	}
	if code, out := runOnce(env); code != 1 || !strings.Contains(out, "secret key does not match") {
		t.Fatalf("start with a lost key file: %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data.key")); !os.IsNotExist(err) {
		t.Fatalf("a wrong key file was left behind: %v", err)
	}
	env["SUBGATE_SECRET_KEY"] = strings.Repeat("cd", 32)
	if code, out := runOnce(env); code != 1 || !strings.Contains(out, "secret key does not match") {
		t.Fatalf("start with another key: %d %s", code, out)
	}
}
