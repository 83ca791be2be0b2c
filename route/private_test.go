package route

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// wantTargetRefused fails unless err is the router's private-target refusal.
func wantTargetRefused(t *testing.T, what string, err error) {
	t.Helper()
	var r *subgate.Refusal
	if !errors.As(err, &r) || r.Code != subgate.ReasonTargetNotAllowed {
		t.Fatalf("%s: err = %v, want a %s refusal", what, err, subgate.ReasonTargetNotAllowed)
	}
}

// Without allow_private_targets, direct and static-local-IP routes refuse
// loopback, private and link-local targets, also behind a host name. The
// check runs on the resolved address before connect, so nothing is dialled.
func TestPrivateTargetsAreRefusedByDefault(t *testing.T) {
	o := startOrigin(t)
	_, port, _ := net.SplitHostPort(o.addr())
	targets := map[string]string{
		"loopback":                       o.addr(),
		"name resolving to loopback":     net.JoinHostPort("localhost", port),
		"private (10/8)":                 "10.0.0.1:80", // never dialled: refused before connect
		"private (192.168/16)":           "192.168.1.1:80",
		"link-local":                     "169.254.169.254:80",
		"unspecified (reaches the host)": "0.0.0.0:" + port,
		"CGNAT":                          "100.64.0.1:80",
	}
	// Routes without an IPv4 source address can also try IPv6 targets.
	v6 := map[string]string{
		"IPv6 loopback":     "[::1]:" + port,
		"IPv6 unique local": "[fd00::1]:80",
		"IPv6 link-local":   "[fe80::1]:80",
	}
	for name, cfg := range map[string]Config{
		"direct":          {Routes: map[subgate.Product]Route{"res": {Kind: KindDirect}}},
		"direct, sources": {Routes: map[subgate.Product]Route{"res": {Kind: KindDirect, SourceAddrs: []string{"127.0.0.2"}}}},
		"static":          {Routes: map[subgate.Product]Route{"res": {Kind: KindStatic, Static: []StaticEgress{{Address: "127.0.0.3"}}}}},
	} {
		r := newRouter(t, cfg, Options{})
		all := maps.Clone(targets)
		if name == "direct" {
			maps.Copy(all, v6)
		}
		for what, addr := range all {
			start := time.Now()
			c, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: addr})
			if c != nil {
				c.Close()
			}
			wantTargetRefused(t, name+", "+what, err)
			// A refusal from the dialer's Control never reaches connect: it
			// comes back well before a dial would time out (the bound is
			// generous for a loaded machine).
			if d := time.Since(start); d > DefaultDialTimeout/2 {
				t.Errorf("%s, %s: refusal took %s", name, what, d)
			}
		}
		// The refusal is about the target, not the egress: nothing is marked down.
		for _, h := range r.Health() {
			if !h.Up || h.Failures != 0 {
				t.Errorf("%s: egress %s marked failed by a refused target: %+v", name, h.Egress, h)
			}
		}
	}
	if n := o.accepted(); n != 0 {
		t.Fatalf("origin accepted %d connections to refused targets", n)
	}
}

// A private IP literal is refused before any dial: the error is the bare
// refusal, not one from the dialer. A name is refused by the dialer's
// Control on the resolved address, which runs before connect.
func TestPrivateTargetRefusalHappensBeforeConnect(t *testing.T) {
	r := newRouter(t, Config{Routes: map[subgate.Product]Route{"res": {Kind: KindDirect}}}, Options{})
	_, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: "10.0.0.1:80"})
	wantTargetRefused(t, "10.0.0.1", err)
	var op *net.OpError
	if errors.As(err, &op) {
		t.Fatalf("10.0.0.1 reached the dialer: %v", err)
	}
	_, err = r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: "localhost:80"})
	wantTargetRefused(t, "localhost", err)
	if !errors.As(err, &op) || op.Op != "dial" || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("localhost: err = %#v, want the dialer's Control refusal", err)
	}
}

// allow_private_targets lets the same routes reach a loopback origin, also
// by name, and survives a reload; turning it off again refuses again.
func TestAllowPrivateTargets(t *testing.T) {
	o := startOrigin(t)
	_, port, _ := net.SplitHostPort(o.addr())
	cfg := Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"res": {Kind: KindDirect}}}
	r := newRouter(t, cfg, Options{})
	for _, addr := range []string{o.addr(), net.JoinHostPort("localhost", port)} {
		c, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: addr})
		if err != nil {
			if addr != o.addr() {
				t.Skipf("localhost does not reach the IPv4 origin here: %v", err)
			}
			t.Fatal(err)
		}
		greeting(t, c)
		c.Close()
	}
	if !r.Config().AllowPrivateTargets {
		t.Fatal("Config() lost allow_private_targets")
	}
	cfg.AllowPrivateTargets = false
	if err := r.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	_, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: o.addr()})
	wantTargetRefused(t, "after turning it off", err)
}

// Dedicated static IPs from the store follow the same policy.
func TestDedicatedIPsRefusePrivateTargets(t *testing.T) {
	ctx := context.Background()
	o := startOrigin(t)
	e := newStoreEnv(t)
	alice := e.subUser(t, "alice")
	if _, _, err := e.svc.AllocateStaticIPs(ctx, e.res, strconv.FormatInt(alice.ID, 10),
		subgate.StaticIPAllocation{Country: "us", Count: 1}, 0, ""); err != nil {
		t.Fatal(err)
	}
	r := newRouter(t, Config{Routes: map[subgate.Product]Route{"stc": {Kind: KindStatic, Dedicated: true}}},
		Options{StaticIPs: NewStoreStaticIPs(e.svc.Store.(subgate.StaticIPStore), 0)})
	_, err := r.Dial(ctx, subgate.DialRequest{SubUser: alice, Target: subgate.Target{Product: "stc"}, Address: o.addr()})
	wantTargetRefused(t, "dedicated IP to loopback", err)
	if o.accepted() != 0 {
		t.Fatal("the origin was reached")
	}
}

// Behind the real gateway the client reads the refusal's reason: the API
// on the gateway host stays out of reach through the router.
func TestGatewayAnswersPrivateTargetRefusal(t *testing.T) {
	ctx := context.Background()
	o := startOrigin(t)
	e := newStoreEnv(t)
	if _, err := e.svc.CreditPool(ctx, e.admin, e.rid, subgate.ProductResidential, subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateSubUser(ctx, e.res, 0, subgate.SubUserCreate{Username: "alice", Password: "alicepw",
		Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}}, ""); err != nil {
		t.Fatal(err)
	}
	r := newRouter(t, Config{Routes: map[subgate.Product]Route{"res": {Kind: KindDirect}}}, Options{})
	proxy := e.startGateway(t, r)
	for _, target := range []string{o.addr(), "10.0.0.1:80"} {
		_, resp := connectResponse(t, proxy, "alice", "alicepw", target)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Subgate-Error") != subgate.ReasonTargetNotAllowed {
			t.Errorf("CONNECT %s: %d %q", target, resp.StatusCode, resp.Header.Get("X-Subgate-Error"))
		}
	}
	if o.accepted() != 0 {
		t.Fatal("the loopback origin was reached through the gateway")
	}
}

// A private IP literal is refused before the gateway admits the egress, so
// it never counts against ip_usage_cap.
func TestPrivateLiteralIsRefusedBeforeAdmit(t *testing.T) {
	for name, cfg := range map[string]Config{
		"direct": {Routes: map[subgate.Product]Route{"res": {Kind: KindDirect}}},
		"static": {Routes: map[subgate.Product]Route{"res": {Kind: KindStatic, Static: []StaticEgress{{Address: "127.0.0.3"}}}}},
	} {
		r := newRouter(t, cfg, Options{})
		var admitted []string
		admit := func(key string) error { admitted = append(admitted, key); return nil }
		_, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: "10.0.0.1:80", Admit: admit})
		wantTargetRefused(t, name, err)
		if len(admitted) != 0 {
			t.Errorf("%s: egress admitted for a refused target: %v", name, admitted)
		}
	}
}
