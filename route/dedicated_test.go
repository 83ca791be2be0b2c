package route

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
)

// storeEnv is a real SQLite store with a service, a reseller holding static
// traffic, and inventory on loopback addresses.
type storeEnv struct {
	svc   *subgate.Service
	admin subgate.Principal
	res   subgate.Principal
	rid   int64
}

func newStoreEnv(t *testing.T) *storeEnv {
	t.Helper()
	ctx := context.Background()
	c, err := secret.New(bytes.Repeat([]byte{5}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "subgate.db"), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &storeEnv{svc: subgate.NewService(st), admin: subgate.Principal{Admin: true}}
	r, err := e.svc.CreateReseller(ctx, e.admin, subgate.ResellerCreate{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	e.rid, e.res = r.ID, subgate.Principal{ResellerID: r.ID}
	if _, err := e.svc.CreditPool(ctx, e.admin, r.ID, subgate.ProductStatic, 10*subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}
	err = e.svc.AddStaticIPs(ctx, e.admin, []*subgate.StaticIP{
		{Address: "127.0.0.11", Country: "us", AccessPoint: "nyc"},
		{Address: "127.0.0.12", Country: "us", AccessPoint: "nyc"},
		{Address: "127.0.0.13", Country: "de", AccessPoint: "fra"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *storeEnv) subUser(t *testing.T, name string) *subgate.SubUser {
	t.Helper()
	u, err := e.svc.CreateSubUser(context.Background(), e.res, 0, subgate.SubUserCreate{Username: name}, "")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDedicatedIPsFromTheStore(t *testing.T) {
	ctx := context.Background()
	o := startOrigin(t)
	e := newStoreEnv(t)
	alice, bob := e.subUser(t, "alice"), e.subUser(t, "bob")
	ref := strconv.FormatInt(alice.ID, 10)

	ips, u, err := e.svc.AllocateStaticIPs(ctx, e.res, ref, subgate.StaticIPAllocation{Country: "US", AccessPoint: "nyc", Count: 2}, 2*subgate.BytesPerGB, "alloc-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ips) != 2 || u.Traffic[subgate.ProductStatic].Available != 2*subgate.BytesPerGB {
		t.Fatalf("allocated %d IPs, stc balance %+v", len(ips), u.Traffic)
	}
	// The inventory is short: nothing is allocated and no bandwidth moves.
	_, _, err = e.svc.AllocateStaticIPs(ctx, e.res, strconv.FormatInt(bob.ID, 10), subgate.StaticIPAllocation{Country: "us", Count: 1}, subgate.BytesPerGB, "")
	if subgate.ErrorCode(err) != subgate.EINSUFFICIENT {
		t.Fatalf("allocation past the inventory: %v", err)
	}
	if b, _ := e.svc.SubUser(ctx, e.res, strconv.FormatInt(bob.ID, 10)); b.Traffic[subgate.ProductStatic].Available != 0 {
		t.Errorf("a refused allocation gave bandwidth: %+v", b.Traffic)
	}
	// A give the pool cannot cover releases the IPs again.
	_, _, err = e.svc.AllocateStaticIPs(ctx, e.res, strconv.FormatInt(bob.ID, 10), subgate.StaticIPAllocation{Country: "de", Count: 1}, 100*subgate.BytesPerGB, "")
	if subgate.ErrorCode(err) != subgate.EINSUFFICIENT {
		t.Fatalf("allocation beyond the pool: %v", err)
	}
	if mine, _ := e.svc.SubUserStaticIPs(ctx, e.res, strconv.FormatInt(bob.ID, 10)); len(mine) != 0 {
		t.Errorf("IPs kept after the give failed: %v", mine)
	}

	// Only the operator stocks the inventory; another reseller cannot see alice.
	err = e.svc.AddStaticIPs(ctx, e.res, []*subgate.StaticIP{{Address: "127.0.0.14", Country: "us"}})
	if subgate.ErrorCode(err) != subgate.EFORBIDDEN {
		t.Errorf("reseller stocking the inventory: %v", err)
	}
	other, err := e.svc.CreateReseller(ctx, e.admin, subgate.ResellerCreate{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.AllocateStaticIPs(ctx, subgate.Principal{ResellerID: other.ID}, ref, subgate.StaticIPAllocation{Country: "de", Count: 1}, 0, "")
	if subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Errorf("another reseller allocating to alice: %v", err)
	}

	statics := NewStoreStaticIPs(e.svc.Store.(subgate.StaticIPStore), 0)
	e.svc.OnSubUserChange(statics.Forget)
	r := newRouter(t, Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{
		"stc": {Kind: KindStatic, Dedicated: true},
	}}, Options{StaticIPs: statics})
	dial := func(u *subgate.SubUser, admit func(string) error) (string, error) {
		c, err := r.Dial(ctx, subgate.DialRequest{SubUser: u, Target: subgate.Target{Product: "stc"}, Address: o.addr(), Admit: admit})
		if err != nil {
			return "", err
		}
		defer c.Close()
		return greeting(t, c), nil
	}
	seen := map[string]bool{}
	for range 4 {
		ip, err := dial(alice, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen[ip] = true
	}
	if len(seen) != 2 || !seen["127.0.0.11"] || !seen["127.0.0.12"] {
		t.Errorf("alice egressed from %v, want exactly her two IPs", seen)
	}
	if _, err := dial(bob, nil); subgate.ErrorCode(err) != subgate.EINSUFFICIENT {
		t.Errorf("bob without IPs: %v", err)
	}

	// ip_usage_cap: the gateway admits one distinct egress; the second IP is refused before any dial.
	capped := &distinctCap{limit: 1}
	before := o.accepted()
	if _, err := dial(alice, capped.admit); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(alice, capped.admit); !errors.Is(err, errCapped) {
		t.Fatalf("second distinct IP: err = %v", err)
	}
	if o.accepted() != before+1 {
		t.Errorf("origin saw %d connections, want 1", o.accepted()-before)
	}

	// Releasing takes effect on the next connection.
	if n, err := e.svc.ReleaseStaticIPs(ctx, e.res, ref, nil); err != nil || n != 2 {
		t.Fatalf("release: %d, %v", n, err)
	}
	if _, err := dial(alice, nil); subgate.ErrorCode(err) != subgate.EINSUFFICIENT {
		t.Errorf("after release: %v", err)
	}
}

var errCapped = errors.New("ip usage cap reached")

// distinctCap stands in for the gateway's ip_usage_cap counter.
type distinctCap struct {
	mu    sync.Mutex
	limit int
	keys  map[string]bool
}

func (c *distinctCap) admit(key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = map[string]bool{}
	}
	if !c.keys[key] && len(c.keys) >= c.limit {
		return errCapped
	}
	c.keys[key] = true
	return nil
}
