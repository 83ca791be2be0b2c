package route

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
	"github.com/subgate/subgate/route/routetest"
)

// connectThrough opens a CONNECT tunnel through the gateway at proxy.
func connectThrough(t *testing.T, proxy, user, pass, target string) (net.Conn, int) {
	c, resp := connectResponse(t, proxy, user, pass, target)
	return c, resp.StatusCode
}

func connectResponse(t *testing.T, proxy, user, pass, target string) (net.Conn, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", proxy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+auth+"\r\n\r\n")
	// Read the answer byte by byte so the origin's greeting stays on c.
	resp, err := http.ReadResponse(bufio.NewReaderSize(byteReader{c}, 16), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, resp
}

// startGateway runs the real gateway on the store with r as its dialer
// (default product res) until the test ends; it returns the proxy address.
func (e *storeEnv) startGateway(t *testing.T, r *Router) string {
	t.Helper()
	gw, err := gateway.New(gateway.Config{ProxyAddr: "127.0.0.1:0", Store: e.svc.Store, Service: e.svc, Dialer: r,
		DefaultProduct: "res", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		gw.Shutdown(sctx)
	})
	return gw.ProxyAddr().String()
}

// The router behind the real gateway: targeting from the client's username
// reaches the upstream in its syntax, dedicated IPs carry stc, and the
// gateway's ip_usage_cap refuses a second distinct egress.
func TestRouterBehindTheGateway(t *testing.T) {
	ctx := context.Background()
	o := startOrigin(t)
	up := routetest.StartUpstream(t, "127.0.0.4", false)
	e := newStoreEnv(t)
	if _, err := e.svc.CreditPool(ctx, e.admin, e.rid, subgate.ProductResidential, 10*subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreditPool(ctx, e.admin, e.rid, subgate.ProductDatacenter, 10*subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreditPool(ctx, e.admin, e.rid, subgate.ProductAny, 10*subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}
	alice, err := e.svc.CreateSubUser(ctx, e.res, 0, subgate.SubUserCreate{Username: "alice", Password: "alicepw",
		Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB, "*": subgate.BytesPerGB}}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CreateSubUser(ctx, e.res, 0, subgate.SubUserCreate{Username: "bob", Password: "bobpw1",
		Traffic: map[subgate.Product]int64{"dc": subgate.BytesPerGB}, Limits: subgate.Limits{IPUsageCap: 1}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.AllocateStaticIPs(ctx, e.res, strconv.FormatInt(alice.ID, 10),
		subgate.StaticIPAllocation{Country: "de", Count: 1}, subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}

	statics := NewStoreStaticIPs(e.svc.Store.(subgate.StaticIPStore), 0)
	e.svc.OnSubUserChange(statics.Forget)
	r := newRouter(t, Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{
		"res": {Kind: KindUpstream, Upstreams: []Upstream{{Name: "netnut", Proxy: Proxy{Address: up.Addr(), Username: "acct", Password: "secret", Preset: PresetNetNut}}}},
		"stc": {Kind: KindStatic, Dedicated: true},
		"dc":  {Kind: KindDirect, SourceAddrs: []string{"127.0.0.2", "127.0.0.3"}},
	}}, Options{StaticIPs: statics})
	proxy := e.startGateway(t, r)

	c, status := connectThrough(t, proxy, "alice-country-us-session-abc", "alicepw", o.addr())
	if status != 200 {
		t.Fatalf("CONNECT as alice: %d", status)
	}
	if ip := greeting(t, c); ip != "127.0.0.4" {
		t.Errorf("origin saw %s, want the upstream", ip)
	}
	if want := "acct-res-us-sid-" + deriveSession(alice.ID, "abc").Num; up.Last(t).User != want {
		t.Errorf("upstream got user %q, want %q", up.Last(t).User, want)
	}

	c, status = connectThrough(t, proxy, "alice-product-stc", "alicepw", o.addr())
	if status != 200 {
		t.Fatalf("CONNECT on stc: %d", status)
	}
	if ip := greeting(t, c); ip != "127.0.0.13" {
		t.Errorf("stc egressed from %s, want alice's dedicated 127.0.0.13", ip)
	}

	c, status = connectThrough(t, proxy, "bob-product-dc", "bobpw1", o.addr())
	if status != 200 {
		t.Fatalf("bob's first CONNECT: %d", status)
	}
	greeting(t, c)
	before := o.accepted()
	if _, status = connectThrough(t, proxy, "bob-product-dc", "bobpw1", o.addr()); status == 200 {
		t.Fatal("bob's second distinct egress was admitted past ip_usage_cap 1")
	}
	if o.accepted() != before {
		t.Error("the refused egress still reached the origin")
	}
	// A product the sub-user may use (through "*") but this gateway has no
	// route for is refused with its reason.
	_, resp := connectResponse(t, proxy, "alice-product-mob", "alicepw", o.addr())
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Subgate-Error") != subgate.ReasonNoProduct {
		t.Errorf("product without a route: %d %q", resp.StatusCode, resp.Header.Get("X-Subgate-Error"))
	}
}
