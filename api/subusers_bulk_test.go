package api_test

import (
	"strings"
	"testing"
)

func TestSubUsersBulkUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 1000)
	_, otherTok := e.reseller("other", 0)
	a, b, c := e.createSubUser(tok, "bulk_a", 100), e.createSubUser(tok, "bulk_b", 0), e.createSubUser(tok, "bulk_c", 0)
	foreign := e.createSubUser(otherTok, "bulk_foreign", 0)
	e.call("PATCH", "/v1/subusers/"+b.Hash, tok, map[string]any{"limits": map[string]int64{"monthly": 7000}}).expect(t, 200)

	var out struct{ Items []subUser }
	e.call("PATCH", "/v1/subusers", tok, map[string]any{
		"subusers": []any{a.ID, b.Hash, itoa(c.ID)}, "status": "disabled", "note": "paused",
		"limits": map[string]int64{"daily": 500}, "expires_at": "2099-01-01T00:00:00Z",
	}).expect(t, 200).into(t, &out)
	if len(out.Items) != 3 {
		t.Fatalf("bulk answer has %d sub-users, want 3", len(out.Items))
	}
	for i, want := range []subUser{a, b, c} {
		got := out.Items[i]
		if got.ID != want.ID || got.Status != "disabled" || got.Note != "paused" || got.Limits["daily"] != 500 ||
			got.ExpiresAt == nil || !strings.HasPrefix(*got.ExpiresAt, "2099-01-01") {
			t.Fatalf("item %d: %+v", i, got)
		}
	}
	var readB subUser
	e.call("GET", "/v1/subusers/"+b.Hash, tok, nil).expect(t, 200).into(t, &readB)
	if readB.Status != "disabled" || readB.Limits["monthly"] != 7000 || readB.Limits["daily"] != 500 {
		t.Fatalf("after the bulk update, b = %+v (its monthly limit must stay)", readB)
	}

	// One reference that is not the caller's (unknown or another
	// reseller's) is a 404 that tells them apart in no way; nothing changes.
	for _, ref := range []any{foreign.ID, foreign.Hash, 999999, "01NOSUCHHASH"} {
		r := e.call("PATCH", "/v1/subusers", tok, map[string]any{"subusers": []any{a.ID, ref}, "status": "active"})
		r.expectErr(t, 404, "not_found", "")
		if strings.Contains(string(r.Body), "bulk_foreign") {
			t.Fatalf("404 names the other reseller's sub-user: %s", r.Body)
		}
	}
	var readA subUser
	e.call("GET", "/v1/subusers/"+itoa(a.ID), tok, nil).expect(t, 200).into(t, &readA)
	if readA.Status != "disabled" {
		t.Fatalf("a refused bulk update changed a: %+v", readA)
	}

	// Bad input names the field.
	for _, c := range []struct {
		body  string
		field string
	}{
		{`{"subusers":[],"status":"active"}`, "subusers"},
		{`{"subusers":[` + strings.Repeat(`1,`, 1000) + `1],"status":"active"}`, "subusers"},
		{`{"subusers":[true],"status":"active"}`, "subusers"},
		{`{"subusers":[1]}`, "subusers"},
		{`{"subusers":[1],"password":"secret12"}`, "password"},
		{`{"subusers":[1],"username":"same_name"}`, "username"},
		{`{"subusers":[1],"funding":"shared"}`, "funding"},
		{`{"subusers":[1],"allow_ips":["192.0.2.1"]}`, "allow_ips"},
		{`{"subusers":[1],"email":"x@example.com"}`, "email"},
		{`{"subusers":[1],"status":"blocked"}`, "status"},
		{`{"subusers":[1],"status":"sleeping"}`, "status"},
		{`{"subusers":[1],"limits":{"daily":-1}}`, "limits.daily"},
		{`{"subusers":[1],"expires_at":"tomorrow"}`, "expires_at"},
	} {
		e.call("PATCH", "/v1/subusers", tok, c.body).expectErr(t, 400, "invalid", c.field)
	}

	// The admin reaches every reseller's sub-users.
	e.call("PATCH", "/v1/subusers", adminToken, map[string]any{"subusers": []any{a.Hash, foreign.Hash}, "status": "active"}).
		expect(t, 200).into(t, &out)
	if len(out.Items) != 2 || out.Items[0].Status != "active" || out.Items[1].Status != "active" {
		t.Fatalf("admin bulk update: %+v", out.Items)
	}
	e.checkInvariant(id)
}

// A retried bulk update with the same Idempotency-Key gets the first answer
// and applies nothing again.
func TestSubUsersBulkUpdateIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.reseller("acme", 0)
	a, b := e.createSubUser(tok, "idem_a", 0), e.createSubUser(tok, "idem_b", 0)
	body := map[string]any{"subusers": []any{a.ID, b.ID}, "note": "first"}
	first := e.call("PATCH", "/v1/subusers", tok, body, "Idempotency-Key", "bulk-1").expect(t, 200)
	e.call("PATCH", "/v1/subusers/"+a.Hash, tok, map[string]any{"note": "later"}).expect(t, 200)
	again := e.call("PATCH", "/v1/subusers", tok, body, "Idempotency-Key", "bulk-1").expect(t, 200)
	if string(again.Body) != string(first.Body) {
		t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
	}
	var got subUser
	e.call("GET", "/v1/subusers/"+a.Hash, tok, nil).expect(t, 200).into(t, &got)
	if got.Note != "later" {
		t.Fatalf("the replay applied the bulk update again: note %q", got.Note)
	}
	e.call("PATCH", "/v1/subusers", tok, map[string]any{"subusers": []any{a.ID}, "note": "other"}, "Idempotency-Key", "bulk-1").
		expectErr(t, 409, "conflict", "")
}
