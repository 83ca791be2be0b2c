package storetest

import (
	"testing"

	"github.com/subgate/subgate"
)

// staticIPOnceTests check that an allocation retried with its idempotency
// key returns the first allocation's IPs instead of taking more.
var staticIPOnceTests = []test{
	{"RetryReturnsTheFirstIPs", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{subgate.ProductStatic: 1000})
		u := e.subUser(r.ID, nil)
		p := subgate.Principal{ResellerID: r.ID}
		e.stockIPs("us", 5)
		a := subgate.StaticIPAllocation{Country: "us", Count: 2}
		first, _, err := e.svc.AllocateStaticIPs(e.ctx, p, u.Hash, a, 100, "alloc-1")
		e.must(err)
		again, got, err := e.svc.AllocateStaticIPs(e.ctx, p, u.Hash, a, 100, "alloc-1")
		e.must(err)
		if len(again) != 2 || again[0].ID != first[0].ID || again[1].ID != first[1].ID {
			t.Fatalf("retry allocated %+v, first %+v", again, first)
		}
		if n := len(e.subUserIPs(u.ID)); n != 2 {
			t.Fatalf("sub-user holds %d IPs after a retry, want 2", n)
		}
		if got.Traffic[subgate.ProductStatic].Available != 100 || e.pool(r.ID, subgate.ProductStatic) != 900 {
			t.Fatalf("retry gave again: %+v pool %d", got.Traffic[subgate.ProductStatic], e.pool(r.ID, subgate.ProductStatic))
		}
		// The key cannot answer a different allocation.
		_, _, err = e.svc.AllocateStaticIPs(e.ctx, p, u.Hash, subgate.StaticIPAllocation{Country: "us", Count: 1}, 100, "alloc-1")
		wantCode(t, err, subgate.ECONFLICT)
		e.stockIPs("de", 1)
		_, _, err = e.svc.AllocateStaticIPs(e.ctx, p, u.Hash, subgate.StaticIPAllocation{Country: "de", Count: 2}, 100, "alloc-1")
		wantCode(t, err, subgate.ECONFLICT)
		if n := len(e.subUserIPs(u.ID)); n != 2 {
			t.Fatalf("sub-user holds %d IPs after refused retries, want 2", n)
		}
		// Another key, or none, allocates anew.
		_, _, err = e.svc.AllocateStaticIPs(e.ctx, p, u.Hash, subgate.StaticIPAllocation{Country: "us", Count: 1}, 0, "alloc-2")
		e.must(err)
		_, _, err = e.svc.AllocateStaticIPs(e.ctx, p, u.Hash, subgate.StaticIPAllocation{Country: "us", Count: 1}, 0, "")
		e.must(err)
		if n := len(e.subUserIPs(u.ID)); n != 4 {
			t.Fatalf("sub-user holds %d IPs, want 4", n)
		}
	}},
	{"KeyIsPerSubUser", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		u1, u2 := e.subUser(r.ID, nil), e.subUser(r.ID, nil)
		e.stockIPs("us", 2)
		st := e.s.(subgate.StaticIPOnceStore)
		a := subgate.StaticIPAllocation{Scope: subgate.Scope(r.ID), Country: "us", Count: 1, SubUserID: u1.ID, Now: t0}
		ips1, replay, err := st.AllocateStaticIPsOnce(e.ctx, a, "k")
		e.must(err)
		if replay {
			t.Fatal("first allocation reported as a replay")
		}
		a.SubUserID = u2.ID
		ips2, replay, err := st.AllocateStaticIPsOnce(e.ctx, a, "k")
		e.must(err)
		if replay || ips2[0].ID == ips1[0].ID {
			t.Fatalf("second sub-user got %+v (replay %v), first %+v", ips2, replay, ips1)
		}
		a.SubUserID = u1.ID
		again, replay, err := st.AllocateStaticIPsOnce(e.ctx, a, "k")
		e.must(err)
		if !replay || len(again) != 1 || again[0].ID != ips1[0].ID {
			t.Fatalf("retry got %+v (replay %v)", again, replay)
		}
		// A released IP does not replay: the key then allocates afresh.
		_, err = e.s.(subgate.StaticIPStore).ReleaseStaticIPs(e.ctx, 0, u1.ID, nil)
		e.must(err)
		_, replay, err = st.AllocateStaticIPsOnce(e.ctx, a, "k")
		e.must(err)
		if replay {
			t.Fatal("a released allocation replayed")
		}
	}},
}

// stockIPs adds n local-address IPs of country to the inventory.
func (e *env) stockIPs(country string, n int) {
	e.t.Helper()
	ips := make([]*subgate.StaticIP, n)
	for i := range ips {
		ips[i] = &subgate.StaticIP{Address: "127.0." + itoa(int(uniq.Add(1))%250) + "." + itoa(i+1), Country: country}
	}
	e.must(e.svc.AddStaticIPs(e.ctx, admin, ips))
}

func (e *env) subUserIPs(id int64) []*subgate.StaticIP {
	e.t.Helper()
	ips, err := e.s.(subgate.StaticIPStore).SubUserStaticIPs(e.ctx, id)
	e.must(err)
	return ips
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
