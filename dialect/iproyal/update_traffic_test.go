package iproyal_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

// An update whose traffic cannot be moved changes nothing, not even for a
// moment: the gateway never sees the new password.
func TestUpdateWithTrafficIsAllOrNothing(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	c := &client{env: env, token: env.Reseller.APIToken}
	created := dialecttest.JSON[resource](t, c.do(t, "POST", "/residential-subusers", `{"username":"user1","password":"secret1","traffic":2}`))
	var changes atomic.Int64
	env.Svc.OnSubUserChange(func(int64) { changes.Add(1) })
	before, err := env.Svc.SubUser(t.Context(), env.Admin, created.Hash)
	if err != nil {
		t.Fatal(err)
	}

	tooMuch := strconv.Itoa(dialecttest.PoolGB + 3)
	resp := c.do(t, "PUT", "/residential-subusers/"+created.Hash, `{"password":"temporary1","username":"user2","traffic":`+tooMuch+`}`)
	if resp.Status != 422 || !containsAll(string(resp.Body), `"traffic"`) {
		t.Fatalf("pool short: %d %s", resp.Status, resp.Body)
	}
	after, err := env.Svc.SubUser(t.Context(), env.Admin, created.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if n := changes.Load(); n != 0 || after.Seq != before.Seq || after.Password != "secret1" || after.Username != "user1" {
		t.Fatalf("refused update left a trace: %d changes, seq %d→%d, %s/%s", n, before.Seq, after.Seq, after.Username, after.Password)
	}

	// Both parts together when the pool suffices.
	got := dialecttest.JSON[resource](t, c.do(t, "PUT", "/residential-subusers/"+created.Hash, `{"password":"secret2","traffic":5}`))
	if got.TrafficAvailable != 5 {
		t.Fatalf("after traffic=5: %+v", got)
	}
	if u, _ := env.Svc.SubUser(t.Context(), env.Admin, created.Hash); u.Password != "secret2" || changes.Load() != 1 {
		t.Fatalf("password %q after %d changes", u.Password, changes.Load())
	}
	lines := env.CheckInvariant(t, env.Reseller.ID)
	if l := lines[subgate.ProductResidential]; l.Pool != (dialecttest.PoolGB-5)*subgate.BytesPerGB {
		t.Fatalf("res audit: %+v", l)
	}
}
