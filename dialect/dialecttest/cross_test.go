package dialecttest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

// A sub-user made through one dialect is the same object in the others:
// created in 9Proxy, given traffic in NetNut and IPRoyal, metered like the
// gateway does, and its usage read back in all three, with the ledger and
// the pool invariant checked along the way.
func TestOneSubUserThroughEveryDialect(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	env.RunAtNoon() // the ip_used day window must not turn
	ctx := context.Background()
	reseller := subgate.Principal{ResellerID: env.Reseller.ID}
	netnutToken := env.NetNutToken(t)
	ninep := func(method, path, body string) dialecttest.Response {
		return env.Do(t, method, env.URL(dialecttest.NineP, "/client/v1/user-passes/"+path+"?api-key="+env.Reseller.APIToken), body)
	}
	netnut := func(method, path, body string) dialecttest.Response {
		return env.Do(t, method, env.URL(dialecttest.NetNut, "/v1"+path), body, "Authorization", netnutToken)
	}
	iproyal := func(method, path, body string) dialecttest.Response {
		return env.Do(t, method, env.URL(dialecttest.IPRoyal, "/v1"+path), body, "Authorization", "Bearer "+env.Reseller.APIToken)
	}
	must := func(resp dialecttest.Response, status int) dialecttest.Response {
		t.Helper()
		if resp.Status != status {
			t.Fatalf("status %d, want %d: %s", resp.Status, status, resp.Body)
		}
		return resp
	}

	// 1. Create in 9Proxy.
	created := dialecttest.JSON[struct{ Result struct{ ID int64 } }](t,
		must(ninep("POST", "create", `{"user_name":"cross_user","use_key":"secret1","status":1,"usage_cap":3000000000}`), 200)).Result
	id := strconv.FormatInt(created.ID, 10)

	// 2. Allocate 2 GB of res in NetNut; NetNut shows the hash IPRoyal uses.
	nn := dialecttest.JSON[struct {
		Data []struct {
			Hash              string `json:"hash"`
			CustomerLoginName string `json:"customer_login_name"`
		}
	}](t, must(netnut("POST", "/customer/sub-user/"+id+"/allocate", `{"allocate":2,"product_type":"res"}`), 200))
	if nn.Data[0].CustomerLoginName != "cross_user" {
		t.Fatalf("NetNut sees %+v", nn.Data)
	}
	hash := nn.Data[0].Hash

	// 3. Give 1 GB more in IPRoyal.
	type resource struct {
		Username         string  `json:"username"`
		Password         string  `json:"password"`
		TrafficAvailable float64 `json:"traffic_available"`
		TrafficUsed      float64 `json:"traffic_used"`
	}
	ir := dialecttest.JSON[resource](t, must(iproyal("POST", "/residential-subusers/"+hash+"/give-traffic", `{"amount":1}`), 200))
	if ir.Username != "cross_user" || ir.Password != "secret1" || ir.TrafficAvailable != 3 {
		t.Fatalf("IPRoyal sees %+v", ir)
	}

	// 4. The gateway meters 0.5 GB.
	now := env.Svc.Now()
	if got := env.RecordUsage(t, created.ID, subgate.ProductResidential, 500_000_000, now); got != 500_000_000 {
		t.Fatalf("lease granted %d", got)
	}

	// 5. Usage reads the same in all three.
	ir = dialecttest.JSON[resource](t, must(iproyal("GET", "/residential-subusers/"+hash, ""), 200))
	if ir.TrafficAvailable != 2.5 || ir.TrafficUsed != 0.5 {
		t.Fatalf("IPRoyal usage %+v", ir)
	}
	np := dialecttest.JSON[struct {
		Result struct {
			Items []struct {
				DataUsed int64 `json:"data_used"`
				IPUsed   int64 `json:"ip_used"`
				UsageCap int64 `json:"usage_cap"`
			}
		}
	}](t, must(ninep("GET", "get-list", ""), 200))
	if it := np.Result.Items; len(it) != 1 || it[0].DataUsed != 500_000_000 || it[0].IPUsed != 1 || it[0].UsageCap != 3_000_000_000 {
		t.Fatalf("9Proxy usage %+v", it)
	}
	day := now.UTC().Format(time.DateOnly)
	report := dialecttest.JSON[struct {
		Data []struct {
			SubUserID  int64 `json:"sub_user_id"`
			UsageBytes int64 `json:"usage_bytes"`
		}
		TotalBytes int64 `json:"total_bytes"`
	}](t, must(netnut("POST", "/customer/usage/", fmt.Sprintf(`{"dateRange":"%s,%s","bySubUser":true}`, day, day)), 200))
	if len(report.Data) != 1 || report.Data[0].SubUserID != created.ID || report.TotalBytes != 500_000_000 {
		t.Fatalf("NetNut usage %+v", report)
	}

	// 6. The ledger holds both gives and the usage; the invariant holds.
	entries, err := env.Svc.Ledger(ctx, reseller, subgate.LedgerFilter{SubUserID: created.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s %s %d", e.Kind, e.Product, e.Bytes))
	}
	want := []string{"usage res 500000000", "give res 1000000000", "give res 2000000000"}
	if b, w := mustJSON(got), mustJSON(want); b != w {
		t.Fatalf("ledger %s, want %s", b, w)
	}
	res := env.CheckInvariant(t, env.Reseller.ID)[subgate.ProductResidential]
	if res.Pool != dialecttest.PoolGB*subgate.BytesPerGB-3_000_000_000 || res.Available != 2_500_000_000 || res.Used != 500_000_000 {
		t.Fatalf("res audit %+v", res)
	}

	// 7. Changes travel too: disabled in NetNut is status 2 in 9Proxy; a
	// password set in IPRoyal is NetNut's customer_login_pwd.
	must(netnut("PUT", "/customer/sub-user/"+id+"/disabled", ""), 200)
	must(iproyal("PATCH", "/residential-subusers/"+hash, `{"password":"rotated9"}`), 200)
	np2 := dialecttest.JSON[struct {
		Result struct{ Items []struct{ Status int } }
	}](t, must(ninep("GET", "get-list", ""), 200))
	if np2.Result.Items[0].Status != 2 {
		t.Fatalf("9Proxy status %+v", np2.Result.Items)
	}
	nn2 := dialecttest.JSON[[]struct {
		Data []struct {
			CustomerLoginPwd string `json:"customer_login_pwd"`
			IsActive         bool   `json:"is_active"`
		}
	}](t, must(netnut("GET", "/customer/sub-user/"+hash, ""), 200))
	if d := nn2[0].Data[0]; d.CustomerLoginPwd != "rotated9" || d.IsActive {
		t.Fatalf("NetNut sees %+v", d)
	}

	// 8. Deleted in 9Proxy, it is gone everywhere and its 2.5 GB are back.
	must(ninep("DELETE", "delete", `{"id":`+id+`}`), 200)
	must(iproyal("GET", "/residential-subusers/"+hash, ""), 404)
	must(netnut("GET", "/customer/sub-user/"+id, ""), 404)
	res = env.CheckInvariant(t, env.Reseller.ID)[subgate.ProductResidential]
	if res.Pool != dialecttest.PoolGB*subgate.BytesPerGB-500_000_000 || res.Used != 500_000_000 {
		t.Fatalf("res audit after delete %+v", res)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
