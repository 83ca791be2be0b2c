package api_test

import (
	"strings"
	"testing"
)

func TestResellerLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("POST", "/v1/resellers", adminToken, map[string]any{"name": "Acme", "email": "Ops@Acme.test", "password": "correct horse"}).expect(t, 201)
	var res struct {
		ID    int64
		Email string
		Pools map[string]int64
	}
	r.into(t, &res)
	if res.ID == 0 || res.Email != "ops@acme.test" || len(res.Pools) != 5 {
		t.Fatalf("created reseller: %s", r.Body)
	}
	e.call("POST", "/v1/resellers", adminToken, map[string]any{"name": "Dup", "email": "OPS@acme.test", "password": "whatever1"}).
		expectErr(t, 409, "conflict", "")

	var tok struct{ Token string }
	e.call("POST", "/v1/resellers/"+itoa(res.ID)+"/tokens", adminToken, nil).expect(t, 201).into(t, &tok)
	if !strings.HasPrefix(tok.Token, "sgr_") {
		t.Fatalf("token %q", tok.Token)
	}
	e.call("POST", "/v1/resellers/999/tokens", adminToken, nil).expectErr(t, 404, "not_found", "")
	e.call("POST", "/v1/resellers/"+itoa(res.ID)+"/tokens", adminToken, `{"kind":"netnut"}`).expectErr(t, 400, "invalid", "kind")
	e.call("POST", "/v1/resellers/"+itoa(res.ID)+"/tokens", adminToken, `{}`).expect(t, 201)

	id := itoa(res.ID)
	e.call("POST", "/v1/resellers/"+id+"/credit", adminToken, map[string]any{"product": "res", "bytes": 10_000_000_000}).expect(t, 200)
	e.call("POST", "/v1/resellers/"+id+"/credit", adminToken, map[string]any{"product": "*", "bytes": 5}).expect(t, 200)
	e.call("POST", "/v1/resellers/"+id+"/debit", adminToken, map[string]any{"product": "res", "bytes": 4_000_000_000}).expect(t, 200)
	e.call("POST", "/v1/resellers/"+id+"/debit", adminToken, map[string]any{"product": "res", "bytes": 6_000_000_001}).
		expectErr(t, 422, "insufficient", "")
	e.call("POST", "/v1/resellers/999/credit", adminToken, map[string]any{"product": "res", "bytes": 1}).expectErr(t, 404, "not_found", "")
	if p := e.pools(res.ID); p["res"] != 6_000_000_000 || p["*"] != 5 {
		t.Fatalf("pools %v", p)
	}

	var me struct {
		Pools        map[string]int64
		SubUserCount int64 `json:"subuser_count"`
	}
	e.call("GET", "/v1/me", tok.Token, nil).expect(t, 200).into(t, &me)
	if me.Pools["res"] != 6_000_000_000 || me.SubUserCount != 0 {
		t.Fatalf("me: %+v", me)
	}
	var list struct{ Items []struct{ ID int64 } }
	e.call("GET", "/v1/resellers", adminToken, nil).expect(t, 200).into(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("list: %+v", list)
	}
	e.checkInvariant(res.ID)
}

func TestResellerCreateBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		body  string
		field string
	}{
		{`{}`, "name"},
		{`{"name":"  "}`, "name"},
		{`{"name":"a","email":"not-an-email","password":"longenough"}`, "email"},
		{`{"name":"a","email":"a@b.test"}`, "password"},
		{`{"name":"a","email":"a@b.test","password":"short"}`, "password"},
		{`{"name":"a","nickname":"x"}`, "nickname"},
		{`{"name":5}`, "name"},
		{`{"name":"a"} {"name":"b"}`, ""},
		{`{"name":`, ""},
		{``, ""},
		{`[]`, ""},
	} {
		r := e.call("POST", "/v1/resellers", adminToken, c.body)
		r.expectErr(t, 400, "invalid", c.field)
		if msg := r.json(t)["error"].(map[string]any)["message"].(string); strings.HasPrefix(msg, " ") {
			t.Errorf("%s: message %q", c.body, msg)
		}
	}
	var list struct{ Items []any }
	e.call("GET", "/v1/resellers", adminToken, nil).expect(t, 200).into(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("bad input created resellers: %v", list.Items)
	}
}

func TestAmountsAreValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 1_000_000)
	u := e.createSubUser(tok, "alice", 1000)
	paths := []struct{ path, token string }{
		{"/v1/resellers/" + itoa(id) + "/credit", adminToken},
		{"/v1/resellers/" + itoa(id) + "/debit", adminToken},
		{"/v1/subusers/" + itoa(u.ID) + "/give", tok},
		{"/v1/subusers/" + itoa(u.ID) + "/take", tok},
	}
	for _, p := range paths {
		for _, c := range []struct {
			body  string
			field string
		}{
			{`{"product":"res","bytes":-5}`, "bytes"},
			{`{"product":"res","bytes":0}`, "bytes"},
			{`{"product":"res"}`, "bytes"},
			{`{"product":"res","bytes":1.5}`, "bytes"},
			{`{"product":"res","bytes":1e30}`, "bytes"},
			{`{"product":"res","bytes":9223372036854775808}`, "bytes"},
			{`{"product":"res","bytes":1000000000000000001}`, "bytes"},
			{`{"product":"res","bytes":"10"}`, "bytes"},
			{`{"product":"res","bytes":NaN}`, ""},
			{`{"product":"gold","bytes":5}`, "product"},
			{`{"bytes":5}`, "product"},
			{`{"product":"res","bytes":5,"gb":1}`, "gb"},
		} {
			e.call("POST", p.path, p.token, c.body).expectErr(t, 400, "invalid", c.field)
		}
	}
	if pools := e.pools(id); pools["res"] != 1_000_000-1000 {
		t.Fatalf("bad amounts changed the pool: %v", pools)
	}
	e.checkInvariant(id)
}

func TestBodySizeIsLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	e.call("POST", "/v1/resellers", adminToken, big).expectErr(t, 413, "too_large", "")
}
