package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSubUserCreateAndRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 10_000_000_000)
	r := e.call("POST", "/v1/subusers", tok, map[string]any{
		"username": "alice_1", "password": "s3cretPW", "name": "Alice", "note": "vip",
		"traffic":    map[string]int64{"res": 2_000_000_000},
		"limits":     map[string]int64{"daily": 1_000_000_000, "max_concurrency": 10},
		"expires_at": "2099-01-01T00:00:00Z",
		"allow_ips":  []string{"203.0.113.7", "2001:db8::/32"},
	}).expect(t, 201)
	var u subUser
	r.into(t, &u)
	if u.Username != "alice_1" || u.Password != "s3cretPW" || u.Status != "active" ||
		u.Traffic["res"].Available != 2_000_000_000 || u.Limits["daily"] != 1_000_000_000 ||
		u.Limits["max_concurrency"] != 10 || u.ExpiresAt == nil || u.Limited || u.Expired ||
		len(u.AllowIPs) != 2 || u.AllowIPs[0] != "203.0.113.7/32" {
		t.Fatalf("created: %s", r.Body)
	}
	m := r.json(t)
	for _, k := range []string{"id", "hash", "username", "password", "status", "traffic", "limits", "created_at", "limited", "expired", "usage"} {
		if _, ok := m[k]; !ok {
			t.Errorf("sub-user JSON lacks %q", k)
		}
	}
	// Readable by id and by hash; the password is given back in the clear.
	for _, ref := range []string{itoa(u.ID), u.Hash} {
		var got subUser
		e.call("GET", "/v1/subusers/"+ref, tok, nil).expect(t, 200).into(t, &got)
		if got.ID != u.ID || got.Password != "s3cretPW" {
			t.Fatalf("by %s: %+v", ref, got)
		}
	}
	e.call("GET", "/v1/subusers/nope", tok, nil).expectErr(t, 404, "not_found", "")

	// A generated password when none is given.
	g := e.createSubUser(tok, "bob", 0)
	if len(g.Password) < 8 || g.Traffic["res"].Available != 0 {
		t.Fatalf("generated: %+v", g)
	}
	// The admin names the reseller.
	e.call("POST", "/v1/subusers", adminToken, map[string]any{"username": "carol"}).expectErr(t, 400, "invalid", "reseller_id")
	e.call("POST", "/v1/subusers", adminToken, map[string]any{"username": "carol", "reseller_id": 999}).expectErr(t, 404, "not_found", "")
	var c subUser
	e.call("POST", "/v1/subusers", adminToken, map[string]any{"username": "carol", "reseller_id": id}).expect(t, 201).into(t, &c)
	e.call("GET", "/v1/subusers/carol_missing", tok, nil).expectErr(t, 404, "not_found", "")
	e.call("GET", "/v1/subusers/"+c.Hash, tok, nil).expect(t, 200)
	e.checkInvariant(id)
}

func TestSubUserCreateBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 1000)
	e.createSubUser(tok, "taken", 0)
	for _, c := range []struct {
		body   string
		status int
		code   string
		field  string
	}{
		{`{}`, 400, "invalid", "username"},
		{`{"username":"a-b"}`, 400, "invalid", "username"},
		{`{"username":"ab"}`, 400, "invalid", "username"},
		{`{"username":"ok_name","password":"has:colon"}`, 400, "invalid", "password"},
		{`{"username":"ok_name","status":"blocked"}`, 400, "invalid", "status"},
		{`{"username":"ok_name","status":"sleeping"}`, 400, "invalid", "status"},
		{`{"username":"ok_name","limits":{"daily":-1}}`, 400, "invalid", "limits.daily"},
		{`{"username":"ok_name","limits":{"weekly":1}}`, 400, "invalid", "weekly"},
		{`{"username":"ok_name","traffic":{"res":-1}}`, 400, "invalid", "traffic.res"},
		{`{"username":"ok_name","traffic":{"gold":1}}`, 400, "invalid", "traffic"},
		{`{"username":"ok_name","traffic":{"res":1e30}}`, 400, "invalid", ""},
		{`{"username":"ok_name","expires_at":"tomorrow"}`, 400, "invalid", "expires_at"},
		{`{"username":"ok_name","allow_ips":["10.0.0.0/8","nope"]}`, 400, "invalid", "allow_ips[1]"},
		{`{"username":"ok_name","allow_ips":["::ffff:0.0.0.0/96"]}`, 400, "invalid", "allow_ips[0]"},
		{`{"username":"ok_name","private_pool":-1}`, 400, "invalid", "private_pool"},
		{`{"username":"ok_name","private_pool":1e308}`, 400, "invalid", "private_pool"},
		{`{"username":"ok_name","email":"x"}`, 400, "invalid", "email"},
		{`{"username":"ok_name","reseller_id":999}`, 400, "invalid", "reseller_id"},
		{`{"username":"ok_name","colour":"red"}`, 400, "invalid", "colour"},
		{`{"username":"TAKEN"}`, 409, "conflict", ""},
		{`{"username":"ok_name","traffic":{"res":1001}}`, 422, "insufficient", ""},
	} {
		t.Run(c.body, func(t *testing.T) {
			e.call("POST", "/v1/subusers", tok, c.body).expectErr(t, c.status, c.code, c.field)
		})
	}
	// A '-' in a username is refused with the reason.
	if r := e.call("POST", "/v1/subusers", tok, `{"username":"carol-res"}`); !strings.Contains(string(r.Body), "'-' separates targeting parameters in proxy usernames") {
		t.Errorf("dash in a username: %d %s", r.Status, r.Body)
	}
	var page struct{ Total int64 }
	e.call("GET", "/v1/subusers?count=exact", tok, nil).expect(t, 200).into(t, &page)
	if page.Total != 1 {
		t.Fatalf("bad input created sub-users: total %d", page.Total)
	}
	if p := e.pools(id); p["res"] != 1000 {
		t.Fatalf("bad input moved traffic: %v", p)
	}
	e.checkInvariant(id)
}

func TestSubUserUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.reseller("acme", 0)
	u := e.createSubUser(tok, "alice", 0)
	path := "/v1/subusers/" + u.Hash
	e.call("PATCH", path, tok, map[string]any{"limits": map[string]int64{"daily": 5, "monthly": 50}}).expect(t, 200)

	// Only the given fields change; inside limits only the given limits.
	var got subUser
	e.call("PATCH", path, tok, `{"note":"hello","limits":{"monthly":70},"expires_at":"2099-05-01T10:00:00+02:00"}`).expect(t, 200).into(t, &got)
	if got.Note != "hello" || got.Limits["daily"] != 5 || got.Limits["monthly"] != 70 || got.ExpiresAt == nil || got.Username != "alice" {
		t.Fatalf("after patch: %+v", got)
	}
	if exp, _ := time.Parse(time.RFC3339, *got.ExpiresAt); !exp.Equal(time.Date(2099, 5, 1, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("expires_at %s", *got.ExpiresAt)
	}
	// null clears the expiry; an empty list clears allow_ips.
	e.call("PATCH", path, tok, `{"expires_at":null,"allow_ips":[]}`).expect(t, 200).into(t, &got)
	if got.ExpiresAt != nil || len(got.AllowIPs) != 0 || got.Note != "hello" {
		t.Fatalf("after clearing: %+v", got)
	}
	// A past expiry shows as expired and limited.
	e.call("PATCH", path, tok, `{"expires_at":"2000-01-01T00:00:00Z"}`).expect(t, 200).into(t, &got)
	if !got.Expired || !got.Limited {
		t.Fatalf("expired sub-user: %+v", got)
	}
	e.call("PATCH", path, tok, `{"username":"alice2"}`).expect(t, 200).into(t, &got)
	if got.Username != "alice2" {
		t.Fatalf("rename: %+v", got)
	}

	e.createSubUser(tok, "bob", 0)
	for _, c := range []struct {
		body   string
		status int
		code   string
		field  string
	}{
		{`{"username":"BOB"}`, 409, "conflict", ""},
		{`{"username":"no spaces"}`, 400, "invalid", "username"},
		{`{"status":"blocked"}`, 400, "invalid", "status"},
		{`{"limits":{"daily":-5}}`, 400, "invalid", "limits.daily"},
		{`{"limits":{"daily":"5"}}`, 400, "invalid", "limits.daily"},
		{`{"expires_at":5}`, 400, "invalid", "expires_at"},
		{`{"hash":"x"}`, 400, "invalid", "hash"},
		{`{"password":"a"}`, 400, "invalid", "password"},
		{`{"private_pool":-1}`, 400, "invalid", "private_pool"},
		{`{"allow_ips":["::ffff:203.0.113.0/120"]}`, 400, "invalid", "allow_ips[0]"},
		{``, 400, "invalid", ""},
	} {
		e.call("PATCH", path, tok, c.body).expectErr(t, c.status, c.code, c.field)
	}
	e.call("GET", path, tok, nil).expect(t, 200).into(t, &got)
	if got.Username != "alice2" || got.Limits["daily"] != 5 {
		t.Fatalf("bad patches changed the sub-user: %+v", got)
	}
}

func TestSubUserPasswordAndStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.reseller("acme", 0)
	u := e.createSubUser(tok, "alice", 0)
	path := "/v1/subusers/" + itoa(u.ID)
	var got subUser
	e.call("POST", path+"/password", tok, map[string]string{"password": "n3wPassw0rd"}).expect(t, 200).into(t, &got)
	if got.Password != "n3wPassw0rd" {
		t.Fatalf("password %q", got.Password)
	}
	e.call("POST", path+"/password", tok, nil).expect(t, 200).into(t, &got)
	if got.Password == "n3wPassw0rd" || len(got.Password) < 8 {
		t.Fatalf("generated password %q", got.Password)
	}
	e.call("POST", path+"/password", tok, map[string]string{"password": "bad pass"}).expectErr(t, 400, "invalid", "password")
	e.call("POST", path+"/password", tok, map[string]string{"pass": "x"}).expectErr(t, 400, "invalid", "pass")

	e.call("POST", path+"/disable", tok, nil).expect(t, 200).into(t, &got)
	if got.Status != "disabled" || !got.Limited {
		t.Fatalf("disabled: %+v", got)
	}
	e.call("POST", path+"/enable", tok, "").expect(t, 200).into(t, &got)
	if got.Status != "active" {
		t.Fatalf("enabled: %+v", got)
	}
	e.call("POST", path+"/enable", tok, `{"x":1}`).expectErr(t, 400, "invalid", "x")
}

func TestSubUserDeleteReturnsTraffic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 5000)
	u := e.createSubUser(tok, "alice", 3000)
	var del struct {
		Deleted bool
		Pools   map[string]int64
	}
	e.call("DELETE", "/v1/subusers/"+u.Hash, tok, nil).expect(t, 200).into(t, &del)
	if !del.Deleted || del.Pools["res"] != 5000 {
		t.Fatalf("delete: %+v", del)
	}
	e.call("GET", "/v1/subusers/"+u.Hash, tok, nil).expectErr(t, 404, "not_found", "")
	e.call("DELETE", "/v1/subusers/"+u.Hash, tok, nil).expectErr(t, 404, "not_found", "")
	// The username is free again.
	e.createSubUser(tok, "alice", 0)
	e.checkInvariant(id)
}

func TestSubUserList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.reseller("acme", 1_000_000)
	_, otherTok := e.reseller("other", 0)
	e.createSubUser(otherTok, "foreign", 0)
	for i := range 7 {
		u := e.createSubUser(tok, fmt.Sprintf("user_%d", i), int64(100*(i+1)))
		if i == 3 {
			e.call("PATCH", "/v1/subusers/"+itoa(u.ID), tok, map[string]any{"note": "Special customer"}).expect(t, 200)
		}
		if i%2 == 1 {
			e.call("POST", "/v1/subusers/"+itoa(u.ID)+"/disable", tok, nil).expect(t, 200)
		}
	}
	list := func(q string) (names []string, total int64, next string) {
		t.Helper()
		var p struct {
			Items []subUser
			Total *int64
			Next  string `json:"next_cursor"`
		}
		e.call("GET", "/v1/subusers?"+q, tok, nil).expect(t, 200).into(t, &p)
		for _, u := range p.Items {
			names = append(names, u.Username)
		}
		if p.Total != nil {
			total = *p.Total
		} else {
			total = -1
		}
		return names, total, p.Next
	}
	// A total only when asked for: counting costs a read of every match.
	names, total, _ := list("")
	if total != -1 || len(names) != 7 || names[0] != "user_0" {
		t.Fatalf("default list: %v total %d", names, total)
	}
	for _, count := range []string{"exact", "estimate"} {
		var p struct {
			Total          *int64
			TotalEstimated *bool `json:"total_estimated"`
		}
		e.call("GET", "/v1/subusers?count="+count, tok, nil).expect(t, 200).into(t, &p)
		if p.Total == nil || *p.Total != 7 || p.TotalEstimated != nil { // a handful of rows is counted exactly
			t.Fatalf("count=%s: total %v, estimated %v", count, p.Total, p.TotalEstimated)
		}
	}
	names, total, _ = list("per_page=3&page=2&count=exact")
	if total != 7 || fmt.Sprint(names) != "[user_3 user_4 user_5]" {
		t.Fatalf("page 2: %v total %d", names, total)
	}
	names, _, _ = list("sort=available&order=desc&per_page=2")
	if fmt.Sprint(names) != "[user_6 user_5]" {
		t.Fatalf("by available desc: %v", names)
	}
	names, _, _ = list("sort=username&order=desc&per_page=1")
	if fmt.Sprint(names) != "[user_6]" {
		t.Fatalf("by username desc: %v", names)
	}
	names, total, _ = list("count=exact&search=" + url.QueryEscape("special"))
	if fmt.Sprint(names) != "[user_3]" || total != 1 {
		t.Fatalf("search: %v total %d", names, total)
	}
	names, total, _ = list("count=exact&status=disabled")
	if total != 3 || fmt.Sprint(names) != "[user_1 user_3 user_5]" {
		t.Fatalf("status filter: %v total %d", names, total)
	}

	// Cursor paging walks every sub-user exactly once.
	var seen []string
	cursor := ""
	for range 10 {
		q := "per_page=3"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		names, total, next := list(q)
		seen = append(seen, names...)
		if cursor != "" && total != -1 {
			t.Fatalf("cursor page carries a total")
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(seen) != "[user_0 user_1 user_2 user_3 user_4 user_5 user_6]" {
		t.Fatalf("cursor walk: %v", seen)
	}

	var all struct{ Total int64 }
	e.call("GET", "/v1/subusers?count=exact", adminToken, nil).expect(t, 200).into(t, &all)
	if all.Total != 8 {
		t.Fatalf("the admin sees %d sub-users, want 8", all.Total)
	}
	for _, q := range []struct{ q, field string }{
		{"page=0", "page"}, {"page=x", "page"}, {"per_page=0", "per_page"}, {"per_page=1001", "per_page"},
		{"sort=colour", "sort"}, {"order=up", "order"}, {"status=gone", "status"},
		{"cursor=abc&page=2", "page"}, {"count=some", "count"},
	} {
		e.call("GET", "/v1/subusers?"+q.q, tok, nil).expectErr(t, 400, "invalid", q.field)
	}
}
