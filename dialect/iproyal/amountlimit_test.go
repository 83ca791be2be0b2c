package iproyal_test

import (
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

// A reseller holding the maximum (10^9 GB of res) hands it out in GB and
// reads it back exactly; nothing can take a balance past it.
func TestTrafficAtTheMaximum(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	r := env.NewReseller(t, "huge", 1e9)
	c := &client{env: env, token: r.APIToken}
	created := dialecttest.JSON[resource](t, c.do(t, "POST", "/residential-subusers", `{"username":"huge1","password":"secret1","traffic":600000000}`))
	got := dialecttest.JSON[resource](t, c.do(t, "POST", "/residential-subusers/"+created.Hash+"/give-traffic", `{"amount":400000000}`))
	if got.TrafficAvailable != 1e9 {
		t.Fatalf("traffic_available = %v GB, want 1e9", got.TrafficAvailable)
	}
	if resp := c.do(t, "POST", "/residential-subusers/"+created.Hash+"/give-traffic", `{"amount":1}`); resp.Status != 422 {
		t.Fatalf("give past the pool: %d %s", resp.Status, resp.Body)
	}
	if resp := c.do(t, "PUT", "/residential-subusers/"+created.Hash, `{"traffic":1000000001}`); resp.Status != 422 {
		t.Fatalf("traffic target past the maximum: %d %s", resp.Status, resp.Body)
	}
	_, err := env.Svc.CreditPool(t.Context(), env.Admin, r.ID, subgate.ProductResidential, subgate.BytesPerGB, "")
	if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != "bytes" {
		t.Fatalf("credit past the maximum: %v", err)
	}
	env.CheckInvariant(t, r.ID)
}
