package api_test

import "testing"

func TestSharedFunding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 10_000_000_000)
	var u subUser
	e.call("POST", "/v1/subusers", tok, map[string]any{
		"username": "pooled_1", "funding": "shared", "limits": map[string]int64{"usage_cap": 3_000_000_000},
	}).expect(t, 201).into(t, &u)
	if u.Funding != "shared" || u.Remaining["res"] != 3_000_000_000 || u.Remaining["dc"] != 0 {
		t.Fatalf("created shared: %+v", u)
	}
	ref := "/v1/subusers/" + itoa(u.ID)
	e.call("POST", ref+"/give", tok, map[string]any{"product": "res", "bytes": 1000}).expectErr(t, 409, "conflict", "")
	e.call("POST", "/v1/subusers", tok, map[string]any{"username": "bad_mode", "funding": "pooled"}).expectErr(t, 400, "invalid", "funding")
	e.call("PATCH", ref, tok, map[string]any{"funding": "pooled"}).expectErr(t, 400, "invalid", "funding")

	a := e.createSubUser(tok, "given_1", 2_000_000_000)
	if a.Funding != "allocated" || a.Remaining != nil {
		t.Fatalf("default: %+v", a)
	}
	var sw subUser
	e.call("PATCH", "/v1/subusers/"+itoa(a.ID), tok, map[string]any{"funding": "shared"}).expect(t, 200).into(t, &sw)
	if sw.Funding != "shared" || sw.Traffic["res"].Available != 0 || e.pools(id)["res"] != 10_000_000_000 {
		t.Fatalf("switched: %+v, pools %v", sw, e.pools(id))
	}
	e.call("PATCH", "/v1/subusers/"+itoa(a.ID), tok, map[string]any{"funding": "allocated"}).expect(t, 200).into(t, &sw)
	if sw.Funding != "allocated" || sw.Traffic["res"].Available != 0 {
		t.Fatalf("switched back: %+v", sw)
	}
	e.checkInvariant(id)
}
