package api_test

import (
	"testing"

	"github.com/subgate/subgate"
)

// TestCreditsStopAtTheMaximum replays the overflow the audit found: ten
// credits of 10^18 bytes used to end in a 500, and gives past int64 in a
// negative balance. Past the maximum a credit is a clean 400 that changes
// nothing.
func TestCreditsStopAtTheMaximum(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("Huge", 0)
	credit := "/v1/resellers/" + itoa(id) + "/credit"
	amount := map[string]any{"product": "res", "bytes": subgate.MaxBytes}
	e.call("POST", credit, adminToken, amount).expect(t, 200)
	for range 9 {
		e.call("POST", credit, adminToken, amount).expectErr(t, 400, "invalid", "bytes")
	}
	u := e.createSubUser(tok, "huge_user", subgate.MaxBytes/2)
	give := "/v1/subusers/" + u.Hash + "/give"
	e.call("POST", give, tok, map[string]any{"product": "res", "bytes": subgate.MaxBytes / 2}).expect(t, 200)
	e.call("POST", give, tok, map[string]any{"product": "res", "bytes": 1}).expectErr(t, 422, "insufficient", "")
	e.call("POST", credit, adminToken, map[string]any{"product": "res", "bytes": 1}).expectErr(t, 400, "invalid", "bytes")

	var got subUser
	e.call("GET", "/v1/subusers/"+u.Hash, tok, nil).expect(t, 200).into(t, &got)
	if a := got.Traffic["res"].Available; a != subgate.MaxBytes {
		t.Fatalf("available = %d, want %d", a, subgate.MaxBytes)
	}
	if p := e.pools(id); p["res"] != 0 {
		t.Fatalf("pools = %v", p)
	}
	// Other products have their own maximum.
	e.call("POST", credit, adminToken, map[string]any{"product": "dc", "bytes": subgate.MaxBytes}).expect(t, 200)
	e.checkInvariant(id)
}
