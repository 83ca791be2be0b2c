package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storedRoutes is a configuration sending res through the fixture's
// upstream proxy and dc directly.
func storedRoutes(f *routesFixture) string {
	return `{"session_ttl":"5m","routes":{
  "res":{"kind":"upstream","pick":"least_conn","upstreams":[
    {"name":"recorder","address":"` + f.upstream.Addr() + `","username":"acct","password":"` + upstreamPassword + `"}]},
  "dc":{"kind":"direct"}}}`
}

func TestCLIRoutes(t *testing.T) {
	t.Parallel()
	f := newRoutesFixture(t)
	s := startServe(t, serveEnv(t), "--routes", f.file)
	admin := testAdminToken

	out := s.ok(t, admin, "routes", "show")
	rows := fields(out)
	if strings.Join(rows[0], " ") != "source file" || strings.Join(rows[len(rows)-1], " ") != "res direct round_robin gateway host" {
		t.Fatalf("show before put:\n%s", out)
	}

	file := filepath.Join(t.TempDir(), "stored.json")
	if err := os.WriteFile(file, []byte(storedRoutes(f)), 0o600); err != nil {
		t.Fatal(err)
	}
	out = s.ok(t, admin, "routes", "put", file)
	if strings.Contains(out, upstreamPassword) {
		t.Fatalf("put shows the upstream password:\n%s", out)
	}
	want := []string{
		"source stored",
		"default_product res",
		"session_ttl 5m0s",
		"max_session_ttl 24h0m0s",
		"dial_timeout 10s",
		"unhealthy_backoff 30s",
		"max_backoff 5m0s",
		"max_sessions 100000",
		"allow_private_targets false",
		"PRODUCT KIND PICK EGRESS",
		"dc direct round_robin gateway host",
		"res upstream least_conn recorder=" + f.upstream.Addr(),
	}
	var got []string
	for _, r := range fields(out) {
		if len(r) > 0 {
			got = append(got, strings.Join(r, " "))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("put:\n%s", out)
	}

	// The JSON form is the document to edit and put back: the redacted
	// password sent back keeps the stored one.
	shown := s.ok(t, admin, "routes", "show", "--output", "json")
	var cfg struct {
		Source string
		Routes map[string]struct {
			Upstreams []struct{ Name, Password string }
		}
	}
	if err := json.Unmarshal([]byte(shown), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Source != "stored" || len(cfg.Routes["res"].Upstreams) != 1 || cfg.Routes["res"].Upstreams[0].Password != "****" {
		t.Fatalf("show --output json: %s", shown)
	}
	var stdout, stderr syncBuffer
	a := &app{stdin: strings.NewReader(shown), stdout: &stdout, stderr: &stderr,
		getenv: mapEnv(map[string]string{"SUBGATE_API_URL": s.url, "SUBGATE_TOKEN": admin})}
	if code := a.main(context.Background(), []string{"routes", "put", "-", "--output", "json"}); code != 0 {
		t.Fatalf("put - : exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"source": "stored"`) {
		t.Fatalf("put - --output json: %s", stdout.String())
	}
	makeAlice(t, s)
	proxyAddr := proxyAddrOf(t, s)
	if !f.throughUpstream(t, proxyAddr) {
		t.Fatal("after put res did not go through the upstream")
	}

	out = s.ok(t, admin, "routes", "health")
	rows = fields(out)
	if strings.Join(rows[0], " ") != "source stored, stored version 2" || strings.Join(rows[1], " ") != "PRODUCT EGRESS UP DOWN UNTIL FAILURES ACTIVE" {
		t.Fatalf("health:\n%s", out)
	}
	recorder := false
	for _, r := range rows[2:] {
		// The count of open connections is left out: the gateway may
		// still be closing the one just used.
		recorder = recorder || strings.Join(r[:5], " ") == "res recorder true - 0"
	}
	if !recorder {
		t.Fatalf("health has no row for the upstream:\n%s", out)
	}
	var health struct {
		Source  string
		Version int64
		Items   []struct {
			Product, Egress string
			Up              bool
		}
	}
	if err := json.Unmarshal([]byte(s.ok(t, admin, "routes", "health", "--output", "json")), &health); err != nil {
		t.Fatal(err)
	}
	if health.Source != "stored" || health.Version != 2 || len(health.Items) != len(rows)-2 {
		t.Fatalf("health --output json: %+v\n%s", health, out)
	}

	out = s.ok(t, admin, "routes", "reset")
	if rows := fields(out); strings.Join(rows[0], " ") != "source file" || strings.Join(rows[len(rows)-1], " ") != "res direct round_robin gateway host" {
		t.Fatalf("reset:\n%s", out)
	}
	if f.throughUpstream(t, proxyAddr) {
		t.Fatal("after reset res still went through the upstream")
	}
	if out := s.ok(t, admin, "routes", "reset", "--output", "json"); !strings.Contains(out, `"source": "file"`) {
		t.Fatalf("reset --output json: %s", out)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"routes":{"res":{"kind":"upstream","upstreams":[{"name":"x","address":"nowhere"}]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(broken, []byte(`{"routes":`), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(s.ok(t, admin, "reseller", "token", "1"))
	for _, c := range []struct {
		token string
		args  []string
		code  int
		msg   string
	}{
		{admin, []string{"routes", "put", bad}, 1, "[field routes.res.upstreams[0].address]"},
		{admin, []string{"routes", "put", broken}, 1, "broken.json is not valid JSON"},
		{admin, []string{"routes", "put", filepath.Join(t.TempDir(), "missing.json")}, 1, "no such file"},
		{admin, []string{"routes", "put"}, 2, "want a JSON file, or - for stdin"},
		{admin, []string{"routes", "show", "--verbose"}, 2, "flag provided but not defined"},
		{"wrong-token", []string{"routes", "show"}, 1, "HTTP 401"},
		{tok, []string{"routes", "reset"}, 1, "HTTP 403"},
		{admin, []string{"routes", "frob"}, 2, "unknown routes command"},
	} {
		out, errOut, code := s.cli(t, c.token, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("subgate %s: exit %d, stderr %q, stdout %q; want exit %d mentioning %q",
				strings.Join(c.args, " "), code, errOut, out, c.code, c.msg)
		}
	}
	if src := sourceOf(t, s); src != "file" {
		t.Fatalf("a refused put changed the routes: source %q", src)
	}
}
