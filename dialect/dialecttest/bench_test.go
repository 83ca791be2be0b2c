package dialecttest_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

// BenchmarkReadSubUser measures one read of a sub-user through each dialect
// over loopback HTTP, store included: the cost a reseller's polling script
// puts on the server.
func BenchmarkReadSubUser(b *testing.B) {
	env := dialecttest.New(b)
	ctx := context.Background()
	p := subgate.Principal{ResellerID: env.Reseller.ID}
	u, err := env.Svc.CreateSubUser(ctx, p, 0, subgate.SubUserCreate{Username: "bench_user", Password: "secret1"}, "")
	if err != nil {
		b.Fatal(err)
	}
	netnutToken := env.NetNutToken(b)
	id := strconv.FormatInt(u.ID, 10)
	for _, c := range []struct {
		name, url string
		headers   []string
	}{
		{"netnut", env.URL(dialecttest.NetNut, "/v1/customer/sub-user/"+id), []string{"Authorization", netnutToken}},
		{"iproyal", env.URL(dialecttest.IPRoyal, "/v1/residential-subusers/"+u.Hash), []string{"Authorization", "Bearer " + env.Reseller.APIToken}},
		{"9proxy", env.URL(dialecttest.NineP, "/client/v1/user-passes/get-list?keyword=bench_user&api-key="+env.Reseller.APIToken), nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if resp := env.Do(b, "GET", c.url, "", c.headers...); resp.Status != 200 {
					b.Fatalf("%d %s", resp.Status, resp.Body)
				}
			}
		})
	}
}
