package api_test

import "testing"

// The admin blocks and unblocks through PATCH; the reseller cannot, and
// sending back blocked for a blocked sub-user changes nothing.
func TestAdminBlocksThroughPatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.reseller("acme", 0)
	u := e.createSubUser(tok, "alice", 0)
	path := "/v1/subusers/" + u.Hash

	e.call("PATCH", path, tok, `{"status":"blocked"}`).expectErr(t, 400, "invalid", "status")
	var got subUser
	e.call("PATCH", path, adminToken, `{"status":"blocked"}`).expect(t, 200).into(t, &got)
	if got.Status != "blocked" {
		t.Fatalf("admin PATCH status blocked gave %q", got.Status)
	}
	e.call("PATCH", path, tok, `{"status":"blocked","note":"seen"}`).expect(t, 200).into(t, &got)
	if got.Status != "blocked" || got.Note != "seen" {
		t.Fatalf("echo blocked: %+v", got)
	}
	e.call("PATCH", path, tok, `{"status":"active"}`).expectErr(t, 400, "invalid", "status")
	e.call("PATCH", path, adminToken, `{"status":"active"}`).expect(t, 200).into(t, &got)
	if got.Status != "active" {
		t.Fatalf("admin could not unblock: %q", got.Status)
	}
}

func TestOnlyTheAdminCreatesBlocked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 0)
	e.call("POST", "/v1/subusers", tok, `{"username":"bob","status":"blocked"}`).expectErr(t, 400, "invalid", "status")
	var got subUser
	e.call("POST", "/v1/subusers", adminToken, `{"reseller_id":`+itoa(id)+`,"username":"bob","status":"blocked"}`).expect(t, 201).into(t, &got)
	if got.Status != "blocked" {
		t.Fatalf("admin created %q", got.Status)
	}
}
