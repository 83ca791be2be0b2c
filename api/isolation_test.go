package api_test

import (
	"testing"
)

// Another reseller's sub-user is 404 on every endpoint, by id and by hash,
// and nothing about it changes.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aID, aTok := e.reseller("a", 10_000)
	bID, bTok := e.reseller("b", 10_000)
	u := e.createSubUser(aTok, "alice", 1000)
	amount := map[string]any{"product": "res", "bytes": 10}
	for _, ref := range []string{itoa(u.ID), u.Hash} {
		p := "/v1/subusers/" + ref
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", p, nil},
			{"PATCH", p, map[string]any{"note": "mine now"}},
			{"DELETE", p, nil},
			{"POST", p + "/give", amount},
			{"POST", p + "/take", amount},
			{"POST", p + "/password", map[string]any{"password": "stolen123"}},
			{"POST", p + "/disable", nil},
			{"POST", p + "/enable", nil},
			{"GET", p + "/usage", nil},
			{"GET", p + "/ledger", nil},
			{"GET", "/v1/ledger?subuser=" + ref, nil},
		} {
			e.call(c.method, c.path, bTok, c.body).expectErr(t, 404, "not_found", "")
		}
	}
	var page struct {
		Items []subUser
		Total int64
	}
	e.call("GET", "/v1/subusers?count=exact", bTok, nil).expect(t, 200).into(t, &page)
	if page.Total != 0 || len(page.Items) != 0 {
		t.Fatalf("b lists a's sub-users: %+v", page)
	}
	var ledger struct{ Items []any }
	e.call("GET", "/v1/ledger", bTok, nil).expect(t, 200).into(t, &ledger)
	if len(ledger.Items) != 1 { // b's own credit only
		t.Fatalf("b sees %d ledger entries", len(ledger.Items))
	}
	var got subUser
	e.call("GET", "/v1/subusers/"+u.Hash, aTok, nil).expect(t, 200).into(t, &got)
	if got.Note != "" || got.Password != u.Password || got.Status != "active" || got.Traffic["res"].Available != 1000 {
		t.Fatalf("b changed a's sub-user: %+v", got)
	}
	if p := e.pools(bID); p["res"] != 10_000 {
		t.Fatalf("b's pool changed: %v", p)
	}
	// The admin reaches every reseller's sub-users.
	e.call("POST", "/v1/subusers/"+u.Hash+"/give", adminToken, amount).expect(t, 200)
	e.checkInvariant(aID)
	e.checkInvariant(bID)
}
