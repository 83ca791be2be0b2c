package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// acmeWithAlice makes a reseller with 100 GB of res and 10 GB of stc, a
// token for it and the sub-user alice with 10 GB, and returns the token.
func acmeWithAlice(t *testing.T, s *server) string {
	t.Helper()
	s.ok(t, testAdminToken, "reseller", "create", "Acme")
	s.ok(t, testAdminToken, "reseller", "credit", "1", "100GB")
	s.ok(t, testAdminToken, "reseller", "credit", "1", "10GB", "--product", "stc")
	tok := strings.TrimSpace(s.ok(t, testAdminToken, "reseller", "token", "1"))
	s.ok(t, tok, "subuser", "create", "alice", "--traffic", "res=10GB")
	return tok
}

type ledgerJSON struct {
	Items []struct {
		ID        int64
		Kind      string
		Product   string
		Bytes     int64
		SubUserID int64 `json:"subuser_id"`
	}
	NextBefore int64 `json:"next_before"`
}

func TestCLILedger(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveEnv(t))
	tok := acmeWithAlice(t, s)
	s.ok(t, tok, "subuser", "create", "bob")
	s.ok(t, tok, "subuser", "give", "bob", "1.5GB", "--idempotency-key", "topup-bob")

	ledger := func(token string, args ...string) ledgerJSON {
		t.Helper()
		var page ledgerJSON
		out := s.ok(t, token, append([]string{"ledger", "--output", "json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &page); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return page
	}
	// Newest first: the give to bob, the give to alice, then the credits.
	page := ledger(tok)
	var kinds []string
	for _, e := range page.Items {
		kinds = append(kinds, e.Kind+":"+e.Product)
	}
	if got := strings.Join(kinds, " "); got != "give:res give:res credit:stc credit:res" {
		t.Fatalf("ledger kinds %q", got)
	}
	if page.Items[0].Bytes != 1_500_000_000 || page.Items[0].SubUserID != 2 {
		t.Fatalf("newest entry %+v", page.Items[0])
	}
	if page := ledger(tok, "--subuser", "alice"); len(page.Items) != 1 || page.Items[0].SubUserID != 1 || page.Items[0].Bytes != 10_000_000_000 {
		t.Fatalf("--subuser alice: %+v", page)
	}
	if page := ledger(testAdminToken, "--kind", "credit", "--product", "stc"); len(page.Items) != 1 || page.Items[0].Bytes != 10_000_000_000 {
		t.Fatalf("admin --kind credit --product stc: %+v", page)
	}
	first := ledger(tok, "--limit", "2")
	if len(first.Items) != 2 || first.NextBefore != first.Items[1].ID {
		t.Fatalf("--limit 2: %+v", first)
	}
	if rest := ledger(tok, "--before", "2"); len(rest.Items) != 1 || rest.Items[0].ID != 1 {
		t.Fatalf("--before 2: %+v", rest)
	}

	out := s.ok(t, tok, "ledger", "--limit", "2")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "AMOUNT") {
		t.Fatalf("ledger table:\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[2] != "give" || f[3] != "res" || f[4]+" "+f[5] != "1.50 GB" || f[7] != "2" || f[8] != "topup-bob" {
		t.Fatalf("ledger row %q", lines[1])
	}
	if lines[3] != "more: --before 3" {
		t.Fatalf("ledger footer %q", lines[3])
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ledger", "--kind", "gift"}, 1, "[field kind]"},
		{[]string{"ledger", "--subuser", "nobody"}, 1, "HTTP 404"},
		{[]string{"ledger", "--limit", "many"}, 2, "invalid value"},
		{[]string{"ledger", "extra"}, 2, "want no arguments"},
	} {
		if out, errOut, code := s.cli(t, tok, c.args...); code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("subgate %s: exit %d, stderr %q, stdout %q; want exit %d mentioning %q",
				strings.Join(c.args, " "), code, errOut, out, c.code, c.msg)
		}
	}
}

type usageJSON struct {
	Total  int64
	Points []struct {
		SubUserID int64 `json:"subuser_id"`
		Product   string
		Bytes     int64
	}
}

func TestCLIUsage(t *testing.T) {
	t.Parallel()
	f := newRoutesFixture(t)
	env := serveEnv(t)
	// The server stops at the end of the subtest, flushing all it metered,
	// so the usage read afterwards is final.
	t.Run("traffic", func(t *testing.T) {
		s := startServe(t, env, "--routes", f.file)
		makeAlice(t, s)
		f.fetch(t, proxyAddrOf(t, s))
	})
	s := startServe(t, env)
	tok := strings.TrimSpace(s.ok(t, testAdminToken, "reseller", "token", "1"))
	// A series split by an hour or day boundary has more than one point.
	var u usageJSON
	if err := json.Unmarshal([]byte(s.ok(t, tok, "usage", "--output", "json")), &u); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range u.Points {
		if p.Product != "res" || p.SubUserID != 0 {
			t.Fatalf("usage point %+v", p)
		}
		sum += p.Bytes
	}
	if len(u.Points) == 0 || u.Total == 0 || sum != u.Total {
		t.Fatalf("usage: %+v", u)
	}
	total := formatBytes(u.Total)
	checkTable := func(out, header, row string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 3 || strings.Join(strings.Fields(lines[0]), " ") != header ||
			strings.Join(strings.Fields(lines[len(lines)-1]), " ") != "total "+total {
			t.Fatalf("usage table:\n%s", out)
		}
		for _, l := range lines[1 : len(lines)-1] {
			if f := strings.Fields(l); len(f) < 3 || strings.Join(f[1:len(f)-2], " ") != row {
				t.Fatalf("usage table row %q:\n%s", l, out)
			}
		}
	}
	checkTable(s.ok(t, tok, "usage", "--granularity", "hour"), "TIME PRODUCT USED", "res")
	checkTable(s.ok(t, testAdminToken, "usage", "--by-subuser"), "TIME SUBUSER PRODUCT USED", "1 res")
	if err := json.Unmarshal([]byte(s.ok(t, tok, "usage", "--by-subuser", "--output", "json")), &u); err != nil {
		t.Fatal(err)
	}
	if len(u.Points) == 0 || u.Points[0].SubUserID != 1 {
		t.Fatalf("usage --by-subuser: %+v", u)
	}
	// A window before anything happened is empty.
	out := s.ok(t, tok, "usage", "--from", "2020-01-01", "--to", "2020-01-31")
	if strings.Join(strings.Fields(out), " ") != "TIME PRODUCT USED total 0 B" {
		t.Fatalf("empty window:\n%s", out)
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"usage", "--from", "yesterday"}, 1, "[field from]"},
		{[]string{"usage", "--by-subuser=maybe"}, 2, "invalid boolean value"},
	} {
		if out, errOut, code := s.cli(t, tok, c.args...); code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("subgate %s: exit %d, stderr %q, stdout %q; want exit %d mentioning %q",
				strings.Join(c.args, " "), code, errOut, out, c.code, c.msg)
		}
	}
}
