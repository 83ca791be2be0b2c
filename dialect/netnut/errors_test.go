package netnut_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

// createOne creates the documented example sub-user and returns its id.
func createOne(t *testing.T, c *client) string {
	t.Helper()
	resp := c.do(t, "POST", "/customer/sub-user/", createExample)
	if resp.Status != 200 {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	return strconv.FormatInt(dialecttest.JSON[wrapper](t, resp).Data[0].ID, 10)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.NewWithLogin(t)
	url := env.URL(dialecttest.NetNut, "/v1/auth/authenticated")

	for name, header := range map[string][]string{
		"missing":   nil,
		"garbage":   {"Authorization", "nn_not-a-token"},
		"api token": {"Authorization", env.Reseller.APIToken}, // native tokens are not NetNut tokens
	} {
		resp := env.Do(t, "GET", url, "", header...)
		m := dialecttest.CheckJSONError(t, resp, 401)
		s.CheckResponse(t, "GET", "/auth/authenticated", resp)
		if m["success"] != false {
			t.Errorf("%s: %s", name, resp.Body)
		}
		resp = env.Do(t, "GET", env.URL(dialecttest.NetNut, "/v1/customer/sub-user/"), "", header...)
		dialecttest.CheckJSONError(t, resp, 401)
		s.CheckSchema(t, "ErrorResponse", resp.Body)
	}

	resp := env.Do(t, "POST", env.URL(dialecttest.NetNut, "/v1/auth/login"), `{"email":"first@example.com","password":"wrong-password"}`)
	dialecttest.CheckJSONError(t, resp, 401)
	s.CheckResponse(t, "POST", "/auth/login", resp)
	resp = env.Do(t, "POST", env.URL(dialecttest.NetNut, "/v1/auth/login"), `{"email":"first@example.com"}`)
	if m := dialecttest.CheckJSONError(t, resp, 400); m["field"] != "password" {
		t.Errorf("login without password: %s", resp.Body)
	}

	c := login(t, env, env.Reseller)
	// "Bearer " in front is tolerated.
	if resp := env.Do(t, "GET", url, "", "Authorization", "Bearer "+c.token); resp.Status != 200 {
		t.Errorf("bearer form: %d %s", resp.Status, resp.Body)
	}
	// Tokens live 24 hours.
	env.Svc.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	resp = c.do(t, "GET", "/auth/authenticated", "")
	dialecttest.CheckJSONError(t, resp, 401)
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	c := issue(t, env, env.Reseller)
	id := createOne(t, c)
	before := env.CheckInvariant(t, env.Reseller.ID)

	cases := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"create without login name", "POST", "/customer/sub-user/", `{"customer_dashboard_email":"a@b.co","customer_name":"A","customer_dashboard_pwd":"longenough","customer_login_pwd":"pass1234"}`, 400, "customer_login_name"},
		{"create with bad login name", "POST", "/customer/sub-user/", `{"customer_dashboard_email":"a@b.co","customer_name":"A","customer_dashboard_pwd":"longenough","customer_login_name":"a-b","customer_login_pwd":"pass1234"}`, 400, "customer_login_name"},
		{"create with bad email", "POST", "/customer/sub-user/", `{"customer_dashboard_email":"nope","customer_name":"A","customer_dashboard_pwd":"longenough","customer_login_name":"abc","customer_login_pwd":"pass1234"}`, 400, "customer_dashboard_email"},
		{"create with short dashboard password", "POST", "/customer/sub-user/", `{"customer_dashboard_email":"a@b.co","customer_name":"A","customer_dashboard_pwd":"short","customer_login_name":"abc","customer_login_pwd":"pass1234"}`, 400, "customer_dashboard_pwd"},
		{"create with taken login name", "POST", "/customer/sub-user/", createExample, 400, ""},
		{"create with pool as text", "POST", "/customer/sub-user/", `{"customer_dashboard_email":"a@b.co","customer_name":"A","customer_dashboard_pwd":"longenough","customer_login_name":"abc","customer_login_pwd":"pass1234","snkrs_private_pool":"x"}`, 400, "snkrs_private_pool"},
		{"create with a negative pool", "POST", "/customer/sub-user/", `{"customer_dashboard_email":"a@b.co","customer_name":"A","customer_dashboard_pwd":"longenough","customer_login_name":"abc","customer_login_pwd":"pass1234","snkrs_private_pool":-1}`, 400, "snkrs_private_pool"},
		{"create with a huge pool", "POST", "/customer/sub-user/", `{"customer_dashboard_email":"a@b.co","customer_name":"A","customer_dashboard_pwd":"longenough","customer_login_name":"abc","customer_login_pwd":"pass1234","snkrs_private_pool":1e308}`, 400, "snkrs_private_pool"},
		{"malformed JSON", "POST", "/customer/sub-user/", `{"customer_name":`, 400, "body"},
		{"allocate as text", "POST", "/customer/sub-user/" + id + "/allocate", `{"allocate":"ten","product_type":"res"}`, 400, "allocate"},
		{"allocate missing", "POST", "/customer/sub-user/" + id + "/allocate", `{"product_type":"res"}`, 400, "allocate"},
		{"allocate zero", "POST", "/customer/sub-user/" + id + "/allocate", `{"allocate":0,"product_type":"res"}`, 400, "allocate"},
		{"allocate unknown product", "POST", "/customer/sub-user/" + id + "/allocate", `{"allocate":1,"product_type":"gold"}`, 400, "product_type"},
		{"allocate beyond the pool", "POST", "/customer/sub-user/" + id + "/allocate", `{"allocate":100000,"product_type":"res"}`, 400, ""},
		{"take back more than given", "POST", "/customer/sub-user/" + id + "/allocate", `{"allocate":-1,"product_type":"res"}`, 400, ""},
		{"allocate to a missing sub-user", "POST", "/customer/sub-user/999999/allocate", `{"allocate":1,"product_type":"res"}`, 404, ""},
		{"password too short", "PATCH", "/customer/sub-user/" + id + "/password", `{"new_login_pwd":"ab"}`, 400, "new_login_pwd"},
		{"password missing", "PATCH", "/customer/sub-user/" + id + "/password", `{}`, 400, "new_login_pwd"},
		{"allocateIps missing ips", "POST", "/customer/sub-user/" + id + "/allocateIps", `{"access_point":"abc","country_code":"US","bandwidth":5}`, 400, "ips"},
		{"disabled with a bad body", "PUT", "/customer/sub-user/" + id + "/disabled", `{"disabled":"yes"}`, 400, "disabled"},
		{"list with a bad filter", "GET", "/customer/sub-user/?is_active=maybe", "", 400, "is_active"},
		{"usage without range", "POST", "/customer/usage/", `{}`, 400, "dateRange"},
		{"usage with a bad range", "POST", "/customer/usage/", `{"dateRange":"2026-01-05"}`, 400, "dateRange"},
		{"usage ending before it starts", "POST", "/customer/usage/", `{"dateRange":"2026-01-05,2026-01-01"}`, 400, "dateRange"},
		{"usage with a bad sub-user list", "POST", "/customer/usage/", `{"dateRange":"2026-01-01,2026-01-05","subUsers":{"a":1}}`, 400, "subUsers"},
		{"usage of a missing sub-user", "POST", "/customer/usage/", `{"dateRange":"2026-01-01,2026-01-05","subUsers":[999999]}`, 404, ""},
		{"unknown route", "GET", "/customer/nothing", "", 404, ""},
		{"wrong method", "DELETE", "/customer/sub-user/" + id, "", 405, ""},
		{"wrong method on the list", "PUT", "/customer/sub-user/", "", 405, ""},
	}
	for _, tc := range cases {
		resp := c.do(t, tc.method, tc.path, tc.body)
		m := dialecttest.CheckJSONError(t, resp, tc.status)
		s.CheckSchema(t, "ErrorResponse", resp.Body)
		if m["success"] != false || m["message"] == "" {
			t.Errorf("%s: %s", tc.name, resp.Body)
		}
		if tc.field != "" && m["field"] != tc.field {
			t.Errorf("%s: field %v, want %s: %s", tc.name, m["field"], tc.field, resp.Body)
		}
	}

	after := env.CheckInvariant(t, env.Reseller.ID)
	for p, l := range before {
		if after[p] != l {
			t.Errorf("product %s changed: %+v -> %+v", p, l, after[p])
		}
	}
	u, err := env.Svc.SubUser(context.Background(), env.Admin, id)
	if err != nil || u.Password != "proxyPass123" || u.Status != subgate.StatusActive {
		t.Fatalf("sub-user changed: %+v %v", u, err)
	}
	page, _ := env.Svc.SubUsers(context.Background(), env.Admin, subgate.SubUserFilter{WithTotal: true})
	if page.Total != 1 {
		t.Fatalf("%d sub-users, want 1", page.Total)
	}
}

func TestAnotherResellersSubUserIsNotFound(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	owner := issue(t, env, env.Reseller)
	id := createOne(t, owner)
	other := issue(t, env, env.NewReseller(t, "second", 10))

	for _, r := range []struct{ method, path, body string }{
		{"GET", "/customer/sub-user/" + id, ""},
		{"PATCH", "/customer/sub-user/" + id + "/password", `{"new_login_pwd":"stolen123"}`},
		{"POST", "/customer/sub-user/" + id + "/allocate", `{"allocate":1,"product_type":"res"}`},
		{"PUT", "/customer/sub-user/" + id + "/disabled", ""},
		{"POST", "/customer/sub-user/" + id + "/allocateIps", `{"access_point":"abc","country_code":"US","ips":5,"bandwidth":5}`},
		{"POST", "/customer/usage/", `{"dateRange":"2026-01-01,2026-01-02","subUsers":[` + id + `]}`},
	} {
		dialecttest.CheckJSONError(t, other.do(t, r.method, r.path, r.body), 404)
	}
	resp := other.do(t, "GET", "/customer/sub-user/", "")
	if ws := dialecttest.JSON[[]wrapper](t, resp); len(ws) != 1 || len(ws[0].Data) != 0 {
		t.Fatalf("other reseller sees: %s", resp.Body)
	}
	if u, _ := env.Svc.SubUser(context.Background(), env.Admin, id); u.Status != subgate.StatusActive || u.Password != "proxyPass123" {
		t.Fatalf("sub-user changed by another reseller: %+v", u)
	}
}

func TestNegativeAllocateTakesBack(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	c := issue(t, env, env.Reseller)
	id := createOne(t, c)
	for _, body := range []string{`{"allocate":"2.5","product_type":"dc"}`, `{"allocate":-1,"product_type":"dc"}`} {
		if resp := c.do(t, "POST", "/customer/sub-user/"+id+"/allocate", body); resp.Status != 200 {
			t.Fatalf("%s: %d %s", body, resp.Status, resp.Body)
		}
	}
	u, _ := env.Svc.SubUser(context.Background(), env.Admin, id)
	if got := u.Traffic[subgate.ProductDatacenter].Available; got != 1_500_000_000 {
		t.Fatalf("available dc = %d, want 1.5 GB", got)
	}
	// Without product_type the allocation is for any product.
	if resp := c.do(t, "POST", "/customer/sub-user/"+id+"/allocate", `{"allocate":1}`); resp.Status != 200 {
		t.Fatalf("allocate without product_type: %d %s", resp.Status, resp.Body)
	}
	u, _ = env.Svc.SubUser(context.Background(), env.Admin, id)
	if got := u.Traffic[subgate.ProductAny].Available; got != subgate.BytesPerGB {
		t.Fatalf("available * = %d, want 1 GB", got)
	}
	lines := env.CheckInvariant(t, env.Reseller.ID)
	if l := lines[subgate.ProductDatacenter]; l.Pool != dialecttest.PoolGB*subgate.BytesPerGB-1_500_000_000 {
		t.Fatalf("dc pool %d", l.Pool)
	}
}
