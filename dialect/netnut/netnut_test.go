package netnut_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

// spec is NetNut's published fragments plus the endpoints documented
// elsewhere (login, token check, usage) as this server answers them.
func spec(t *testing.T) *dialecttest.Spec {
	return dialecttest.LoadSpec(t,
		"testdata/getById.json", "testdata/patchSubUserPassword.json", "testdata/getSubUsers.json",
		"testdata/postSubUser.json", "testdata/allocate.json", "testdata/allocateIps.json",
		"testdata/disabled.json", "testdata/subgate-auth-usage.yaml")
}

type client struct {
	env   *dialecttest.Env
	token string
}

func (c *client) do(t *testing.T, method, path, body string) dialecttest.Response {
	t.Helper()
	return c.env.Do(t, method, c.env.URL(dialecttest.NetNut, "/v1"+path), body, "Authorization", c.token)
}

// login signs a reseller in through the dialect and returns a client with
// its token.
func login(t *testing.T, env *dialecttest.Env, r *dialecttest.Reseller) *client {
	t.Helper()
	resp := env.Do(t, "POST", env.URL(dialecttest.NetNut, "/v1/auth/login"),
		fmt.Sprintf(`{"email":%q,"password":%q}`, r.Email, r.Password))
	if resp.Status != 200 {
		t.Fatalf("login: %d %s", resp.Status, resp.Body)
	}
	return &client{env: env, token: dialecttest.JSON[struct{ Token string }](t, resp).Token}
}

// issue gives a reseller a NetNut token without the (slow) password login,
// for tests about something else.
func issue(t *testing.T, env *dialecttest.Env, r *dialecttest.Reseller) *client {
	t.Helper()
	tok, _, err := env.Svc.IssueToken(context.Background(), subgate.Principal{ResellerID: r.ID}, r.ID, subgate.TokenNetNut)
	if err != nil {
		t.Fatal(err)
	}
	return &client{env: env, token: tok}
}

type item struct {
	ID                     int64   `json:"id"`
	Hash                   string  `json:"hash"`
	CustomerName           string  `json:"customer_name"`
	CustomerDashboardEmail string  `json:"customer_dashboard_email"`
	CustomerLoginName      string  `json:"customer_login_name"`
	CustomerLoginPwd       string  `json:"customer_login_pwd"`
	SnkrsPrivatePool       float64 `json:"snkrs_private_pool"`
	IsActive               bool    `json:"is_active"`
	AvailableGB            float64 `json:"available_gb"`
	UsedGB                 float64 `json:"used_gb"`
	Traffic                []struct {
		ProductType    string `json:"product_type"`
		AvailableBytes int64  `json:"available_bytes"`
		UsedBytes      int64  `json:"used_bytes"`
	} `json:"traffic"`
}

type wrapper struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Data    []item `json:"data"`
}

// checkItems validates every sub-user in a data array against the shape
// this dialect documents.
func checkItems(t *testing.T, s *dialecttest.Spec, resp dialecttest.Response, list bool) []item {
	t.Helper()
	var w wrapper
	if list {
		ws := dialecttest.JSON[[]wrapper](t, resp)
		if len(ws) != 1 {
			t.Fatalf("want one wrapper, got %s", resp.Body)
		}
		w = ws[0]
	} else {
		w = dialecttest.JSON[wrapper](t, resp)
	}
	if !w.Success {
		t.Fatalf("success is false: %s", resp.Body)
	}
	raw := dialecttest.JSON[any](t, resp)
	if list {
		raw = raw.([]any)[0]
	}
	for _, it := range raw.(map[string]any)["data"].([]any) {
		b, _ := jsonMarshal(it)
		s.CheckSchema(t, "SubUserItem", b)
	}
	return w.Data
}

const createExample = `{
  "customer_dashboard_email": "shop@example.com",
  "customer_name": "Shop",
  "customer_dashboard_pwd": "dashboard-secret",
  "customer_login_name": "shop_user",
  "customer_login_pwd": "proxyPass123",
  "snkrs_private_pool": 1
}`

func TestDocumentedExamples(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.NewWithLogin(t)

	loginBody := fmt.Sprintf(`{"email":%q,"password":%q}`, env.Reseller.Email, env.Reseller.Password)
	s.CheckRequest(t, "POST", "/auth/login", nil, "", loginBody)
	resp := env.Do(t, "POST", env.URL(dialecttest.NetNut, "/v1/auth/login"), loginBody)
	s.CheckResponse(t, "POST", "/auth/login", resp)
	c := &client{env: env, token: dialecttest.JSON[struct{ Token string }](t, resp).Token}

	resp = c.do(t, "GET", "/auth/authenticated", "")
	s.CheckResponse(t, "GET", "/auth/authenticated", resp)
	if resp.Status != 200 {
		t.Fatalf("authenticated: %d %s", resp.Status, resp.Body)
	}

	s.CheckRequest(t, "POST", "/customer/sub-user/", nil, "", createExample)
	resp = c.do(t, "POST", "/customer/sub-user/", createExample)
	s.CheckResponse(t, "POST", "/customer/sub-user/", resp)
	created := checkItems(t, s, resp, false)
	if len(created) != 1 || created[0].CustomerLoginName != "shop_user" || created[0].CustomerLoginPwd != "proxyPass123" ||
		created[0].CustomerDashboardEmail != "shop@example.com" || created[0].CustomerName != "Shop" ||
		created[0].SnkrsPrivatePool != 1 || !created[0].IsActive {
		t.Fatalf("created: %s", resp.Body)
	}
	id := strconv.FormatInt(created[0].ID, 10)
	// The dashboard login works: the password was stored (hashed).
	u, err := env.Store.SubUser(context.Background(), subgate.Scope(env.Reseller.ID), id)
	if err != nil || !subgate.CheckPassword(u.DashboardPasswordHash, "dashboard-secret") {
		t.Fatalf("dashboard password not stored: %v", err)
	}

	resp = c.do(t, "GET", "/customer/sub-user/", "")
	s.CheckResponse(t, "GET", "/customer/sub-user/", resp)
	if items := checkItems(t, s, resp, true); len(items) != 1 || items[0].ID != created[0].ID {
		t.Fatalf("list: %s", resp.Body)
	}

	resp = c.do(t, "GET", "/customer/sub-user/"+id, "")
	s.CheckResponse(t, "GET", "/customer/sub-user/{id}", resp)
	if items := checkItems(t, s, resp, true); len(items) != 1 || items[0].Hash != created[0].Hash {
		t.Fatalf("get: %s", resp.Body)
	}

	allocate := `{"allocate": 10, "product_type": "res"}`
	s.CheckRequest(t, "POST", "/customer/sub-user/{id}/allocate", map[string]string{"id": id}, "", allocate)
	resp = c.do(t, "POST", "/customer/sub-user/"+id+"/allocate", allocate)
	s.CheckResponse(t, "POST", "/customer/sub-user/{id}/allocate", resp)
	items := checkItems(t, s, resp, false)
	if items[0].AvailableGB != 10 || len(items[0].Traffic) != 1 || items[0].Traffic[0].ProductType != "res" ||
		items[0].Traffic[0].AvailableBytes != 10*subgate.BytesPerGB {
		t.Fatalf("allocate: %s", resp.Body)
	}

	password := `{"new_login_pwd": "newProxyPass9"}`
	s.CheckRequest(t, "PATCH", "/customer/sub-user/{id}/password", map[string]string{"id": id}, "", password)
	resp = c.do(t, "PATCH", "/customer/sub-user/"+id+"/password", password)
	s.CheckResponse(t, "PATCH", "/customer/sub-user/{id}/password", resp)
	if items := checkItems(t, s, resp, false); items[0].CustomerLoginPwd != "newProxyPass9" {
		t.Fatalf("password: %s", resp.Body)
	}

	ips := `{"access_point": "abc", "country_code": "US", "ips": 5, "bandwidth": 5}`
	s.CheckRequest(t, "POST", "/customer/sub-user/{id}/allocateIps", map[string]string{"id": id}, "", ips)
	resp = c.do(t, "POST", "/customer/sub-user/"+id+"/allocateIps", ips)
	s.CheckResponse(t, "POST", "/customer/sub-user/{id}/allocateIps", resp)
	if resp.Status != 400 {
		t.Fatalf("allocateIps with an empty inventory: %d %s", resp.Status, resp.Body)
	}
	var inventory []*subgate.StaticIP
	for i := range 6 {
		inventory = append(inventory, &subgate.StaticIP{Address: fmt.Sprintf("127.0.0.%d", 10+i), Country: "us", AccessPoint: "abc"})
	}
	inventory = append(inventory, &subgate.StaticIP{Upstream: "127.0.0.1:9999:up-user:up-secret", Country: "de", AccessPoint: "abc"})
	if err := env.Svc.AddStaticIPs(context.Background(), env.Admin, inventory); err != nil {
		t.Fatal(err)
	}
	resp = c.do(t, "POST", "/customer/sub-user/"+id+"/allocateIps", ips)
	s.CheckResponse(t, "POST", "/customer/sub-user/{id}/allocateIps", resp)
	got := dialecttest.JSON[struct {
		Success bool
		IPs     []struct {
			IP          string `json:"ip"`
			CountryCode string `json:"country_code"`
		} `json:"ips"`
		Data []item
	}](t, resp)
	if resp.Status != 200 || len(got.IPs) != 5 || got.IPs[0].IP != "127.0.0.10" || got.IPs[0].CountryCode != "US" ||
		len(got.Data) != 1 || got.Data[0].Traffic[len(got.Data[0].Traffic)-1].AvailableBytes != 5*subgate.BytesPerGB {
		t.Fatalf("allocateIps: %d %s", resp.Status, resp.Body)
	}
	// One US IP is left: asking for five more fails and changes nothing.
	resp = c.do(t, "POST", "/customer/sub-user/"+id+"/allocateIps", ips)
	dialecttest.CheckJSONError(t, resp, 400)
	// An upstream's credentials never reach the reseller.
	resp = c.do(t, "POST", "/customer/sub-user/"+id+"/allocateIps", `{"access_point":"abc","country_code":"DE","ips":1,"bandwidth":0}`)
	if resp.Status != 200 || strings.Contains(string(resp.Body), "up-secret") {
		t.Fatalf("allocateIps of an upstream IP: %d %s", resp.Status, resp.Body)
	}
	if sips, _ := env.Svc.SubUserStaticIPs(context.Background(), env.Admin, id); len(sips) != 6 {
		t.Fatalf("%d static IPs allocated, want 6", len(sips))
	}

	resp = c.do(t, "PUT", "/customer/sub-user/"+id+"/disabled", "")
	s.CheckResponse(t, "PUT", "/customer/sub-user/{id}/disabled", resp)
	if resp.Status != 200 {
		t.Fatalf("disabled: %d %s", resp.Status, resp.Body)
	}
	resp = c.do(t, "GET", "/customer/sub-user/?is_active=true", "")
	s.CheckResponse(t, "GET", "/customer/sub-user/", resp)
	if items := checkItems(t, s, resp, true); len(items) != 0 {
		t.Fatalf("active list after disable: %s", resp.Body)
	}
	resp = c.do(t, "GET", "/customer/sub-user/?is_active=false", "")
	if items := checkItems(t, s, resp, true); len(items) != 1 || items[0].IsActive {
		t.Fatalf("inactive list after disable: %s", resp.Body)
	}
	resp = c.do(t, "PUT", "/customer/sub-user/"+id+"/disabled", `{"disabled": false}`)
	if resp.Status != 200 {
		t.Fatalf("enable: %d %s", resp.Status, resp.Body)
	}
	if u, _ := env.Svc.SubUser(context.Background(), env.Admin, id); u.Status != subgate.StatusActive {
		t.Fatalf("status after enable: %s", u.Status)
	}

	now := time.Now()
	if got := env.RecordUsage(t, created[0].ID, subgate.ProductResidential, 1_500_000_000, now); got != 1_500_000_000 {
		t.Fatalf("granted %d", got)
	}
	today := now.UTC().Format(time.DateOnly)
	usage := fmt.Sprintf(`{"dateRange": "%s,%s", "bySubUser": true, "subUsers": [%d]}`, today, today, created[0].ID)
	s.CheckRequest(t, "POST", "/customer/usage/", nil, "", usage)
	resp = c.do(t, "POST", "/customer/usage/", usage)
	s.CheckResponse(t, "POST", "/customer/usage/", resp)
	rows := dialecttest.JSON[struct {
		Data []struct {
			Date              string `json:"date"`
			SubUserID         int64  `json:"sub_user_id"`
			CustomerLoginName string `json:"customer_login_name"`
			ProductType       string `json:"product_type"`
			UsageBytes        int64  `json:"usage_bytes"`
		} `json:"data"`
		TotalBytes int64 `json:"total_bytes"`
	}](t, resp)
	if len(rows.Data) != 1 || rows.Data[0].Date != today || rows.Data[0].SubUserID != created[0].ID ||
		rows.Data[0].CustomerLoginName != "shop_user" || rows.Data[0].ProductType != "res" ||
		rows.Data[0].UsageBytes != 1_500_000_000 || rows.TotalBytes != 1_500_000_000 {
		t.Fatalf("usage: %s", resp.Body)
	}
	// Without bySubUser the rows are summed over sub-users and name none.
	resp = c.do(t, "POST", "/customer/usage/", fmt.Sprintf(`{"dateRange": "%s,%s"}`, today, today))
	s.CheckResponse(t, "POST", "/customer/usage/", resp)
	if body := string(resp.Body); strings.Contains(body, "sub_user_id") || !strings.Contains(body, `"usage_bytes":1500000000`) {
		t.Fatalf("summed usage: %s", body)
	}
	// Yesterday had none.
	yesterday := now.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	resp = c.do(t, "POST", "/customer/usage/", fmt.Sprintf(`{"dateRange": "%s,%s", "subUsers": "%s"}`, yesterday, yesterday, created[0].Hash))
	if body := string(resp.Body); resp.Status != 200 || !strings.Contains(body, `"data":[]`) {
		t.Fatalf("usage of yesterday: %s", body)
	}
	env.CheckInvariant(t, env.Reseller.ID)
}
