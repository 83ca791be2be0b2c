package route

import (
	"context"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/route/routetest"
)

// End customers keep their provider's proxy strings: each syntax arrives at
// the real gateway, is parsed once, and leaves rewritten into the syntax of
// the upstream its product routes to (NetNut's for res, IPRoyal's for dc).
func TestEveryProviderSyntaxThroughTheGateway(t *testing.T) {
	ctx := context.Background()
	o := startOrigin(t)
	netnutUp := routetest.StartUpstream(t, "127.0.0.4", false)
	iproyalUp := routetest.StartUpstream(t, "127.0.0.5", true)
	e := newStoreEnv(t)
	for _, p := range []subgate.Product{subgate.ProductResidential, subgate.ProductDatacenter} {
		if _, err := e.svc.CreditPool(ctx, e.admin, e.rid, p, 10*subgate.BytesPerGB, ""); err != nil {
			t.Fatal(err)
		}
	}
	carol, err := e.svc.CreateSubUser(ctx, e.res, 0, subgate.SubUserCreate{Username: "carol", Password: "carolpw",
		Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB, "dc": subgate.BytesPerGB}}, "")
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(t, Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{
		"res": {Kind: KindUpstream, Upstreams: []Upstream{{Name: "netnut",
			Proxy: Proxy{Address: netnutUp.Addr(), Username: "acct", Password: "secret", Preset: PresetNetNut}}}},
		"dc": {Kind: KindUpstream, Upstreams: []Upstream{{Name: "iproyal",
			Proxy: Proxy{Protocol: "socks5", Address: iproyalUp.Addr(), Username: "acct2", Password: "secret2", Preset: PresetIPRoyal}}}},
	}}, Options{})
	proxy := e.startGateway(t, r)
	num := func(s string) string { return deriveSession(carol.ID, s).Num }
	alnum := func(s string) string { return deriveSession(carol.ID, s).Alnum }

	for _, tt := range []struct {
		syntax, user, pass string
		up                 *routetest.Upstream
		wantUser, wantPass string
	}{
		{"NetNut", "carol-res-us-sid-123456", "carolpw", netnutUp, "acct-res-us-sid-" + num("123456"), "secret"},
		{"NetNut", "carol-res_sc-us_california_losangeles", "carolpw", netnutUp, "acct-res_sc-us_california_losangeles", "secret"},
		{"NetNut", "carol-dc-uk", "carolpw", iproyalUp, "acct2", "secret2_country-gb"},
		{"NetNut", "carol-dc_c-de_berlin-sid-77", "carolpw", iproyalUp, "acct2", "secret2_country-de_city-berlin_session-" + alnum("77") + "_lifetime-10m"},
		{"IPRoyal", "carol", "carolpw_country-us_session-abcd1234_lifetime-30m_streaming-1", netnutUp, "acct-res-us-sid-" + num("abcd1234"), "secret"},
		{"9Proxy", "carol-country-de-ssid-es01-sst-30", "carolpw", netnutUp, "acct-res-de-sid-" + num("es01"), "secret"},
		{"Oxylabs", "customer-carol-st-us_california-city-losangeles", "carolpw", netnutUp, "acct-res_sc-us_california_losangeles", "secret"},
		{"Oxylabs", "customer-carol-cc-FR-sessid-x1-sesstime-120", "carolpw", netnutUp, "acct-res-fr-sid-" + num("x1"), "secret"},
		{"subgate", "carol-product-dc-country-fr-session-abc-ttl-2h", "carolpw", iproyalUp, "acct2", "secret2_country-fr_session-" + alnum("abc") + "_lifetime-2h"},
	} {
		c, resp := connectResponse(t, proxy, tt.user, tt.pass, o.addr())
		if resp.StatusCode != 200 {
			t.Errorf("%s %s:%s: %d %s", tt.syntax, tt.user, tt.pass, resp.StatusCode, resp.Header.Get("X-Subgate-Error"))
			continue
		}
		greeting(t, c)
		c.Close()
		if got := tt.up.Last(t); got.User != tt.wantUser || got.Pass != tt.wantPass {
			t.Errorf("%s %s:%s reached the upstream as %s:%s, want %s:%s", tt.syntax, tt.user, tt.pass, got.User, got.Pass, tt.wantUser, tt.wantPass)
		}
	}

	// Malformed or contradictory targeting is refused before any dial,
	// naming the part.
	before := len(netnutUp.Records()) + len(iproyalUp.Records())
	for _, tt := range []struct{ user, pass, part string }{
		{"carol-res-usa", "carolpw", "country"},
		{"customer-carol-cc-de-st-us_california", "carolpw", "st"},
		{"carol-res-us", "carolpw_country-de", "country"},
	} {
		_, resp := connectResponse(t, proxy, tt.user, tt.pass, o.addr())
		if resp.StatusCode != 400 || resp.Header.Get("X-Subgate-Error") != subgate.ReasonBadParameter {
			t.Errorf("%s:%s: %d %q", tt.user, tt.pass, resp.StatusCode, resp.Header.Get("X-Subgate-Error"))
		}
	}
	if after := len(netnutUp.Records()) + len(iproyalUp.Records()); after != before {
		t.Errorf("refused strings still reached an upstream (%d dials)", after-before)
	}
}
