package main

import (
	"encoding/json"
	"strings"
	"testing"
)

type staticIPsJSON struct {
	Items []struct {
		ID          int64
		Address     string
		Upstream    string
		Country     string
		AccessPoint string `json:"access_point"`
		SubUserID   int64  `json:"subuser_id"`
	}
	NextAfter int64 `json:"next_after"`
}

func decodeStaticIPs(t *testing.T, out string) staticIPsJSON {
	t.Helper()
	var v staticIPsJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return v
}

// fields is each line of a table as its words, the header first.
func fields(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

func TestCLIStaticIPs(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveEnv(t))
	tok := acmeWithAlice(t, s)
	admin := testAdminToken

	out := s.ok(t, admin, "staticip", "add", "192.0.2.20", "192.0.2.21", "socks5://static.example:1080:acct:Static-Secret-9", "--country", "US", "--access-point", "nyc")
	if strings.Contains(out, "Static-Secret-9") {
		t.Fatalf("add shows the proxy password: %s", out)
	}
	rows := fields(out)
	if len(rows) != 4 || strings.Join(rows[0], " ") != "ID EGRESS COUNTRY ACCESS POINT SUBUSER ALLOCATED" ||
		strings.Join(rows[1], " ") != "1 192.0.2.20 us nyc - -" || rows[3][1] != "socks5://static.example:1080:acct:****" {
		t.Fatalf("add:\n%s", out)
	}
	added := decodeStaticIPs(t, s.ok(t, admin, "staticip", "add", "2001:db8::7", "--country", "de", "--output", "json"))
	if len(added.Items) != 1 || added.Items[0].Address != "2001:db8::7" || added.Items[0].Country != "de" {
		t.Fatalf("add --output json: %+v", added)
	}

	// A reseller dedicates two of the US IPs to alice with 5 GB of static traffic.
	out = s.ok(t, tok, "subuser", "allocate-ips", "alice", "--count", "2", "--country", "us", "--access-point", "nyc", "--bandwidth", "5GB")
	rows = fields(out)
	if len(rows) != 4 || rows[1][0] != "1" || rows[2][0] != "2" || rows[1][4] != "1" ||
		strings.Join(rows[3], " ") != "sub-user alice: 5.00 GB static traffic available" {
		t.Fatalf("allocate-ips:\n%s", out)
	}
	var alloc struct {
		IPs     []struct{ ID int64 } `json:"ips"`
		SubUser struct {
			Traffic map[string]struct{ Available int64 }
		} `json:"subuser"`
	}
	out = s.ok(t, tok, "subuser", "allocate-ips", "alice", "--count", "1", "--country", "us", "--bandwidth", "1GB", "--output", "json")
	if err := json.Unmarshal([]byte(out), &alloc); err != nil {
		t.Fatal(err)
	}
	if len(alloc.IPs) != 1 || alloc.IPs[0].ID != 3 || alloc.SubUser.Traffic["stc"].Available != 6_000_000_000 {
		t.Fatalf("allocate-ips --output json: %s", out)
	}

	// The reseller sees the proxy only as its endpoint.
	out = s.ok(t, tok, "subuser", "ips", "alice")
	rows = fields(out)
	if len(rows) != 4 || rows[3][1] != "socks5://static.example:1080" || strings.Contains(out, "acct") {
		t.Fatalf("ips:\n%s", out)
	}
	if ips := decodeStaticIPs(t, s.ok(t, tok, "subuser", "ips", "1", "--output", "json")); len(ips.Items) != 3 || ips.Items[0].SubUserID != 1 {
		t.Fatalf("ips --output json: %+v", ips)
	}

	// The admin's inventory: filters and pages.
	if free := decodeStaticIPs(t, s.ok(t, admin, "staticip", "list", "--free", "--output", "json")); len(free.Items) != 1 || free.Items[0].ID != 4 {
		t.Fatalf("list --free: %+v", free)
	}
	var alice struct{ Hash string }
	if err := json.Unmarshal([]byte(s.ok(t, tok, "subuser", "show", "alice", "--output", "json")), &alice); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"alice", alice.Hash, "1"} {
		if held := decodeStaticIPs(t, s.ok(t, admin, "staticip", "list", "--subuser", ref, "--output", "json")); len(held.Items) != 3 || held.Items[2].SubUserID != 1 {
			t.Fatalf("list --subuser %s: %+v", ref, held)
		}
	}
	out = s.ok(t, admin, "staticip", "list", "--allocated", "--country", "us", "--limit", "2")
	rows = fields(out)
	if len(rows) != 4 || rows[1][0] != "1" || rows[2][0] != "2" || strings.Join(rows[3], " ") != "more: --after 2" {
		t.Fatalf("list --allocated --limit 2:\n%s", out)
	}
	if rest := decodeStaticIPs(t, s.ok(t, admin, "staticip", "list", "--after", "2", "--output", "json")); len(rest.Items) != 2 || rest.Items[0].ID != 3 || rest.NextAfter != 0 {
		t.Fatalf("list --after 2: %+v", rest)
	}

	// An allocated IP cannot leave the inventory until released.
	if _, errOut, code := s.cli(t, admin, "staticip", "delete", "1"); code != 1 || !strings.Contains(errOut, "HTTP 409") {
		t.Fatalf("delete of an allocated IP: %d %s", code, errOut)
	}
	if out := s.ok(t, tok, "subuser", "release-ips", "alice", "1", "2"); out != "released 2 static IPs of sub-user alice\n" {
		t.Fatalf("release-ips: %q", out)
	}
	if out := s.ok(t, tok, "subuser", "release-ips", "alice", "--all", "--output", "json"); strings.Join(strings.Fields(out), "") != `{"released":1}` {
		t.Fatalf("release-ips --all: %q", out)
	}
	if out := s.ok(t, admin, "staticip", "delete", "1"); out != "deleted static IP 1\n" {
		t.Fatalf("delete: %q", out)
	}
	if out := s.ok(t, admin, "staticip", "delete", "2", "--output", "json"); strings.TrimSpace(out) != `{"deleted":true}` {
		t.Fatalf("delete --output json: %q", out)
	}
	if left := decodeStaticIPs(t, s.ok(t, admin, "staticip", "list", "--output", "json")); len(left.Items) != 2 || left.Items[0].ID != 3 {
		t.Fatalf("after delete: %+v", left)
	}

	for _, c := range []struct {
		token string
		args  []string
		code  int
		msg   string
	}{
		{admin, []string{"staticip", "add", "192.0.2.30"}, 1, "[field ips[0].country]"},
		{admin, []string{"staticip", "add", "2001:db8::7", "--country", "de"}, 1, "HTTP 409"},
		{tok, []string{"staticip", "list"}, 1, "HTTP 403"},
		{admin, []string{"staticip", "add", "--country", "us"}, 2, "want at least one IP address or static proxy"},
		{admin, []string{"staticip", "list", "--free", "--allocated"}, 1, "exclude each other"},
		{admin, []string{"staticip", "delete"}, 2, "want a static IP id"},
		{admin, []string{"staticip", "delete", "99"}, 1, "HTTP 404"},
		{tok, []string{"subuser", "allocate-ips", "alice", "--count", "5", "--country", "us", "--bandwidth", "1GB"}, 1, "HTTP 422"},
		{tok, []string{"subuser", "allocate-ips", "alice", "--count", "1", "--country", "us", "--bandwidth", "lots"}, 2, "not a size"},
		{tok, []string{"subuser", "release-ips", "alice"}, 2, "want a sub-user and static IP ids, or a sub-user and --all"},
		{tok, []string{"subuser", "release-ips", "alice", "3", "--all"}, 2, "want a sub-user and static IP ids"},
		{tok, []string{"subuser", "release-ips", "alice", "x"}, 1, `static IP id "x"`},
		{tok, []string{"subuser", "ips", "nobody"}, 1, "HTTP 404"},
		{tok, []string{"staticip", "frob"}, 2, "unknown staticip command"},
	} {
		out, errOut, code := s.cli(t, c.token, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("subgate %s: exit %d, stderr %q, stdout %q; want exit %d mentioning %q",
				strings.Join(c.args, " "), code, errOut, out, c.code, c.msg)
		}
	}
	if _, errOut, code := s.cli(t, tok, "subuser", "allocate-ips", "--help"); code != 0 || !strings.Contains(errOut, "Usage: subgate subuser allocate-ips") || !strings.Contains(errOut, "-bandwidth") {
		t.Errorf("allocate-ips --help: %d %s", code, errOut)
	}
}

// ips says when there are none; release-ips refuses an id the sub-user does
// not hold and then releases nothing, rather than report success.
func TestCLIReleaseIPsRefusesIDsNotHeld(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveEnv(t))
	tok := acmeWithAlice(t, s)
	if out := s.ok(t, tok, "subuser", "ips", "alice"); !strings.Contains(out, "sub-user alice holds no static IPs") {
		t.Fatalf("ips without any: %q", out)
	}
	s.ok(t, testAdminToken, "staticip", "add", "192.0.2.20", "--country", "us")
	s.ok(t, tok, "subuser", "allocate-ips", "alice", "--count", "1", "--country", "us")
	if _, errOut, code := s.cli(t, tok, "subuser", "release-ips", "alice", "1", "99"); code != 1 || !strings.Contains(errOut, "holds no static IP 99") {
		t.Fatalf("release of an id not held: exit %d: %s", code, errOut)
	}
	if ips := decodeStaticIPs(t, s.ok(t, tok, "subuser", "ips", "alice", "--output", "json")); len(ips.Items) != 1 {
		t.Fatalf("after the refused release: %+v", ips)
	}
	if out := s.ok(t, tok, "subuser", "release-ips", "alice", "1"); out != "released 1 static IPs of sub-user alice\n" {
		t.Fatalf("release-ips: %q", out)
	}
}
