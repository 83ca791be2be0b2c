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

type usageRows struct {
	Data []struct {
		SubUserID         int64  `json:"sub_user_id"`
		CustomerLoginName string `json:"customer_login_name"`
		UsageBytes        int64  `json:"usage_bytes"`
	} `json:"data"`
	TotalBytes int64 `json:"total_bytes"`
}

// A public Java client's requests, one by one: the lower-case allocateips
// with zone, usage with its own field names and with login names.
func TestJavaClientRequests(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	c := issue(t, env, env.Reseller)
	u, err := env.Svc.CreateSubUser(context.Background(), subgate.Principal{ResellerID: env.Reseller.ID}, 0,
		subgate.SubUserCreate{Username: "shop_user", Password: "secret12"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var inventory []*subgate.StaticIP
	for i := range 3 {
		inventory = append(inventory, &subgate.StaticIP{Address: fmt.Sprintf("192.0.2.%d", 10+i), Country: "us", AccessPoint: "nyc"})
	}
	if err := env.Svc.AddStaticIPs(context.Background(), env.Admin, inventory); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	vars := map[string]string{"token": c.token, "id": strconv.FormatInt(u.ID, 10), "login_name": u.Username,
		"today": now.UTC().Format(time.DateOnly)}
	env.Replay(t, dialecttest.NetNut, "testdata/clients/java-resttemplate.json", vars, func(name string, resp dialecttest.Response) {
		if resp.Status != 200 {
			t.Fatalf("%s: %d %s", name, resp.Status, resp.Body)
		}
		switch name {
		case "authenticated":
			s.CheckResponse(t, "GET", "/auth/authenticated", resp)
		case "list":
			s.CheckResponse(t, "GET", "/customer/sub-user/", resp)
		case "get":
			s.CheckResponse(t, "GET", "/customer/sub-user/{id}", resp)
		case "allocateips":
			s.CheckResponse(t, "POST", "/customer/sub-user/{id}/allocateIps", resp)
			got, _ := env.Svc.SubUser(context.Background(), env.Admin, vars["id"])
			ips, _ := env.Svc.SubUserStaticIPs(context.Background(), env.Admin, vars["id"])
			if len(ips) != 2 || ips[0].Country != "us" || got.Traffic[subgate.ProductStatic].Available != 3*subgate.BytesPerGB {
				t.Fatalf("allocateips: %s; %d IPs, %+v", resp.Body, len(ips), got.Traffic)
			}
		case "usage-client-fields", "usage-by-login-name":
			s.CheckResponse(t, "POST", "/customer/usage/", resp)
			dialecttest.JSON[usageRows](t, resp)
		case "disabled":
			if got, _ := env.Svc.SubUser(context.Background(), env.Admin, vars["id"]); got.Status != subgate.StatusDisabled {
				t.Fatalf("disabled: %s", resp.Body)
			}
		}
	})
	env.CheckInvariant(t, env.Reseller.ID)
}

// Usage rows of a sub-user named by login name are those named by id.
func TestUsageBySubUserLoginName(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	c := issue(t, env, env.Reseller)
	p := subgate.Principal{ResellerID: env.Reseller.ID}
	var ids []int64
	for _, name := range []string{"alpha", "beta"} {
		u, err := env.Svc.CreateSubUser(context.Background(), p, 0, subgate.SubUserCreate{Username: name, Password: "secret12",
			Traffic: map[subgate.Product]int64{subgate.ProductResidential: subgate.BytesPerGB}}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	now := time.Now()
	env.RecordUsage(t, ids[0], subgate.ProductResidential, 1000, now)
	env.RecordUsage(t, ids[1], subgate.ProductResidential, 2000, now)
	today := now.UTC().Format(time.DateOnly)
	for _, refs := range []string{`["alpha"]`, fmt.Sprintf("[%d]", ids[0]), `"alpha"`, `{"x":1}`} {
		resp := c.do(t, "POST", "/customer/usage/", fmt.Sprintf(`{"dateRange":"%s,%s","bySubUser":true,"subUsers":%s}`, today, today, refs))
		if refs == `{"x":1}` {
			dialecttest.CheckJSONError(t, resp, 400)
			continue
		}
		rows := dialecttest.JSON[usageRows](t, resp)
		if len(rows.Data) != 1 || rows.Data[0].SubUserID != ids[0] || rows.Data[0].CustomerLoginName != "alpha" || rows.TotalBytes != 1000 {
			t.Errorf("subUsers %s: %s", refs, resp.Body)
		}
	}
	// An unknown name, or another reseller's sub-user's, is 404.
	other := env.NewReseller(t, "second", 1)
	if _, err := env.Svc.CreateSubUser(context.Background(), subgate.Principal{ResellerID: other.ID}, 0, subgate.SubUserCreate{Username: "gamma"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nobody", "gamma"} {
		resp := c.do(t, "POST", "/customer/usage/", fmt.Sprintf(`{"dateRange":"%s,%s","subUsers":["%s"]}`, today, today, name))
		dialecttest.CheckJSONError(t, resp, 404)
	}
	// The client's own field names, and both spellings at once only when they agree.
	resp := c.do(t, "POST", "/customer/usage/", fmt.Sprintf(`{"date_range":"%s,%s","subscribers":["beta"],"bySubUser":true}`, today, today))
	if rows := dialecttest.JSON[usageRows](t, resp); len(rows.Data) != 1 || rows.TotalBytes != 2000 {
		t.Errorf("date_range and subscribers: %s", resp.Body)
	}
	for field, body := range map[string]string{
		"date_range":  fmt.Sprintf(`{"dateRange":"%s,%s","date_range":"2020-01-01,2020-01-02"}`, today, today),
		"subscribers": fmt.Sprintf(`{"dateRange":"%s,%s","subUsers":["alpha"],"subscribers":["beta"]}`, today, today),
	} {
		m := dialecttest.CheckJSONError(t, c.do(t, "POST", "/customer/usage/", body), 400)
		if m["field"] != field {
			t.Errorf("%s: %v", body, m)
		}
	}
}

// Paths match whatever their case, as NetNut's do; ids and hashes keep theirs.
func TestPathsMatchCaseInsensitively(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	c := issue(t, env, env.Reseller)
	u, err := env.Svc.CreateSubUser(context.Background(), subgate.Principal{ResellerID: env.Reseller.ID}, 0, subgate.SubUserCreate{Username: "casey"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/customer/sub-user/" + u.Hash, "/Customer/Sub-User/" + u.Hash, "/CUSTOMER/SUB-USER/" + strconv.FormatInt(u.ID, 10)} {
		if resp := c.do(t, "GET", path, ""); resp.Status != 200 {
			t.Errorf("%s: %d %s", path, resp.Status, resp.Body)
		}
	}
	if resp := c.do(t, "POST", "/customer/sub-user/"+u.Hash+"/ALLOCATE", `{"allocate":1,"product_type":"res"}`); resp.Status != 200 {
		t.Errorf("ALLOCATE: %d %s", resp.Status, resp.Body)
	}
	dialecttest.CheckJSONError(t, c.do(t, "GET", "/customer/sub-user/"+strings.ToLower(u.Hash), ""), 404)
	dialecttest.CheckJSONError(t, c.do(t, "GET", "/customer/subuser/"+u.Hash, ""), 404)
}

// allocateIps with zone: the same as country_code; both differing is refused
// and changes nothing.
func TestAllocateIPsZone(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	c := issue(t, env, env.Reseller)
	u, err := env.Svc.CreateSubUser(context.Background(), subgate.Principal{ResellerID: env.Reseller.ID}, 0, subgate.SubUserCreate{Username: "zoned"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Svc.AddStaticIPs(context.Background(), env.Admin, []*subgate.StaticIP{
		{Address: "192.0.2.30", Country: "de", AccessPoint: "fra"}, {Address: "192.0.2.31", Country: "us", AccessPoint: "fra"}}); err != nil {
		t.Fatal(err)
	}
	path := "/customer/sub-user/" + u.Hash + "/allocateIps"
	before := env.CheckInvariant(t, env.Reseller.ID)
	for _, body := range []string{
		`{"access_point":"fra","zone":"de","country_code":"us","ips":1,"bandwidth":1}`,
		`{"access_point":"fra","ips":1,"bandwidth":1}`,
	} {
		dialecttest.CheckJSONError(t, c.do(t, "POST", path, body), 400)
	}
	if after := env.CheckInvariant(t, env.Reseller.ID); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("refused requests changed the books: %v -> %v", before, after)
	}
	resp := c.do(t, "POST", path, `{"access_point":"fra","zone":"DE","country_code":"de","ips":1,"bandwidth":1}`)
	if resp.Status != 200 {
		t.Fatalf("zone and country_code agreeing: %d %s", resp.Status, resp.Body)
	}
	if ips, _ := env.Svc.SubUserStaticIPs(context.Background(), env.Admin, u.Hash); len(ips) != 1 || ips[0].Country != "de" {
		t.Fatalf("allocated %+v", ips)
	}
}
