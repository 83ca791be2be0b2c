package dialecttest_test

import (
	"strings"
	"testing"

	"github.com/subgate/subgate/dialect/dialecttest"
)

// A username with '-' is refused in every dialect with the reason: '-'
// separates targeting in proxy usernames, under each dialect's own status
// for bad input (IPRoyal's is 422). Nothing is created.
func TestUsernameDashIsExplainedInEveryDialect(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	netnutToken := env.NetNutToken(t)
	const why = "'-' separates targeting parameters in proxy usernames"
	for _, c := range []struct {
		dialect string
		status  int
		resp    dialecttest.Response
	}{
		{"NetNut", 400, env.Do(t, "POST", env.URL(dialecttest.NetNut, "/v1/customer/sub-user/"),
			`{"customer_dashboard_email":"carol@example.com","customer_name":"Carol","customer_dashboard_pwd":"longenough","customer_login_name":"carol-res","customer_login_pwd":"carolpw1"}`,
			"Authorization", netnutToken)},
		{"IPRoyal", 422, env.Do(t, "POST", env.URL(dialecttest.IPRoyal, "/v1/residential-subusers"),
			`{"username":"carol-res","password":"carolpw1","traffic":1}`, "Authorization", "Bearer "+env.Reseller.APIToken)},
		{"9Proxy", 400, env.Do(t, "POST", env.URL(dialecttest.NineP, "/client/v1/user-passes/create?api-key="+env.Reseller.APIToken),
			`{"user_name":"carol-res","use_key":"carolpw1","status":1}`)},
	} {
		if c.resp.Status != c.status || !strings.Contains(string(c.resp.Body), why) {
			t.Errorf("%s: %d %s", c.dialect, c.resp.Status, c.resp.Body)
		}
	}
	if n, err := env.Store.CountSubUsers(t.Context(), env.Reseller.ID); err != nil || n != 0 {
		t.Fatalf("sub-users after refusals: %d, %v", n, err)
	}
}
