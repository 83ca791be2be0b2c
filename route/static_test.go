package route

import (
	"context"
	"sync"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/route/routetest"
)

func TestStaticInventoryByCountry(t *testing.T) {
	o := startOrigin(t)
	sp := routetest.StartUpstream(t, "127.0.0.7", false)
	r := newRouter(t, Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"stc": {Kind: KindStatic, Static: []StaticEgress{
		{Address: "127.0.0.5", Country: "us", AccessPoint: "nyc"},
		{Address: "127.0.0.6", Country: "de"},
		{Address: "127.0.0.8", Country: "gb"},
		{Proxy: sp.Addr() + ":static:pw", Country: "fr"},
	}}}}, Options{})
	var a admits
	for _, tc := range []struct{ country, want string }{{"us", "127.0.0.5"}, {"de", "127.0.0.6"}, {"DE", "127.0.0.6"}, {"fr", "127.0.0.7"}, {"uk", "127.0.0.8"}} {
		got := dialGreet(t, r, subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "stc", Country: tc.country}, Address: o.addr(), Admit: a.admit})
		if got != tc.want {
			t.Errorf("country %s egressed from %s, want %s", tc.country, got, tc.want)
		}
	}
	if rec := sp.Last(t); rec.User != "static" || rec.Pass != "pw" {
		t.Errorf("static proxy got %+v", rec)
	}
	if keys := a.list(); keys[3] != sp.Addr() || keys[0] != "127.0.0.5" {
		t.Errorf("admitted %v", keys)
	}
	_, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "stc", Country: "jp"}, Address: o.addr()})
	if subgate.ErrorCode(err) != subgate.EINSUFFICIENT {
		t.Errorf("country without IPs: err = %v", err)
	}
}

// memStatics is an in-memory StaticIPSource for router tests; the
// store-backed source has its own tests against both stores.
type memStatics struct {
	mu  sync.Mutex
	ips map[int64][]StaticEgress
}

func (m *memStatics) SubUserStaticIPs(_ context.Context, id int64) ([]StaticEgress, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ips[id], nil
}

func TestDedicatedStaticIPs(t *testing.T) {
	o := startOrigin(t)
	src := &memStatics{ips: map[int64][]StaticEgress{
		1: {{ID: "ip-1", Address: "127.0.0.8", Country: "us"}, {ID: "ip-2", Address: "127.0.0.9", Country: "us"}},
		3: {{ID: "ip-3", Address: "127.0.0.10", Country: "de"}},
	}}
	r := newRouter(t, Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{
		"stc": {Kind: KindStatic, Dedicated: true},
		"res": {Kind: KindDirect},
	}}, Options{StaticIPs: src})
	dial := func(id int64, tg subgate.Target) (string, error) {
		tg.Product = "stc"
		c, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(id), Target: tg, Address: o.addr()})
		if err != nil {
			return "", err
		}
		defer c.Close()
		return greeting(t, c), nil
	}
	seen := map[string]int{}
	for range 4 {
		ip, err := dial(1, subgate.Target{})
		if err != nil {
			t.Fatal(err)
		}
		seen[ip]++
	}
	if seen["127.0.0.8"] != 2 || seen["127.0.0.9"] != 2 {
		t.Errorf("sub-user 1 egressed from %v, want only its two IPs", seen)
	}
	if ip, err := dial(3, subgate.Target{Country: "de"}); err != nil || ip != "127.0.0.10" {
		t.Errorf("sub-user 3: %s, %v", ip, err)
	}
	if _, err := dial(3, subgate.Target{Country: "us"}); subgate.ErrorCode(err) != subgate.EINSUFFICIENT {
		t.Errorf("sub-user 3 in a country it has no IP in: %v", err)
	}
	if _, err := dial(2, subgate.Target{}); subgate.ErrorCode(err) != subgate.EINSUFFICIENT {
		t.Errorf("sub-user without IPs: %v", err)
	}
	// A session sticks to one of the sub-user's IPs.
	first, _ := dial(1, subgate.Target{Session: "s"})
	for range 3 {
		if ip, _ := dial(1, subgate.Target{Session: "s"}); ip != first {
			t.Fatalf("session moved from %s to %s", first, ip)
		}
	}
	// Other products are unaffected by dedication.
	c, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(2), Target: subgate.Target{Product: "res"}, Address: o.addr()})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestDedicatedWithoutSourceIsRefused(t *testing.T) {
	r := newRouter(t, Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"stc": {Kind: KindStatic, Dedicated: true}}}, Options{})
	_, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "stc"}, Address: "127.0.0.1:1"})
	if subgate.ErrorCode(err) != subgate.EINSUFFICIENT {
		t.Errorf("err = %v", err)
	}
}
