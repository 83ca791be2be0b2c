package route

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/subgate/subgate"
	"github.com/subgate/subgate/route/routetest"
)

func newRouter(t *testing.T, cfg Config, opts Options) *Router {
	t.Helper()
	r, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func subUser(id int64) *subgate.SubUser {
	return &subgate.SubUser{ID: id, Username: "u" + strconv.FormatInt(id, 10)}
}

// dialGreet dials through r and returns the source address the origin saw.
func dialGreet(t *testing.T, r *Router, req subgate.DialRequest) string {
	t.Helper()
	c, err := r.Dial(context.Background(), req)
	if err != nil {
		t.Fatalf("dial %+v: %v", req.Target, err)
	}
	defer c.Close()
	return greeting(t, c)
}

// admits records the egress keys the router asked the gateway to admit.
type admits struct {
	mu   sync.Mutex
	keys []string
}

func (a *admits) admit(k string) error {
	a.mu.Lock()
	a.keys = append(a.keys, k)
	a.mu.Unlock()
	return nil
}

func (a *admits) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.keys...)
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

func TestDirectRotatesSourceAddresses(t *testing.T) {
	o := startOrigin(t)
	r := newRouter(t, Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{
		"dc": {Kind: KindDirect, SourceAddrs: []string{"127.0.0.2", "127.0.0.3"}},
	}}, Options{})
	var a admits
	var seen []string
	for range 4 {
		seen = append(seen, dialGreet(t, r, subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "dc"}, Network: "tcp", Address: o.addr(), Admit: a.admit}))
	}
	if want := []string{"127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.3"}; !slices.Equal(seen, want) {
		t.Errorf("origin saw %v, want %v", seen, want)
	}
	if !slices.Equal(a.list(), seen) {
		t.Errorf("admitted %v, want the source addresses %v", a.list(), seen)
	}
}

func TestDirectWithoutSourcesUsesTheHost(t *testing.T) {
	o := startOrigin(t)
	r := newRouter(t, Config{AllowPrivateTargets: true, DefaultProduct: "dc", Routes: map[subgate.Product]Route{"dc": {Kind: KindDirect}}}, Options{})
	var a admits
	// No product in the target: the default product's route is used.
	if got := dialGreet(t, r, subgate.DialRequest{SubUser: subUser(1), Address: o.addr(), Admit: a.admit}); got != "127.0.0.1" {
		t.Errorf("origin saw %s", got)
	}
	if !slices.Equal(a.list(), []string{"direct"}) {
		t.Errorf("admitted %v", a.list())
	}
}

func TestStickySessionKeepsItsEgressForTTL(t *testing.T) {
	o := startOrigin(t)
	clk := newClock()
	r := newRouter(t, Config{AllowPrivateTargets: true, SessionTTL: Duration(10 * time.Minute), Routes: map[subgate.Product]Route{
		"dc": {Kind: KindDirect, SourceAddrs: []string{"127.0.0.2", "127.0.0.3"}},
	}}, Options{Now: clk.now})
	sticky := subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "dc", Session: "s1"}, Address: o.addr()}
	rotating := subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "dc"}, Address: o.addr()}

	first := dialGreet(t, r, sticky)
	for range 3 {
		dialGreet(t, r, rotating) // moves the rotation on
		clk.advance(3 * time.Minute)
		if got := dialGreet(t, r, sticky); got != first {
			t.Fatalf("session moved from %s to %s within its ttl", first, got)
		}
	}
	// 9 minutes in; the session ends at 10. The rotation now points at the
	// other address, so a re-pick after expiry lands there.
	clk.advance(time.Minute)
	if got := dialGreet(t, r, sticky); got == first {
		t.Errorf("session still on %s after its ttl", got)
	}

	// A client-given ttl overrides the default.
	short := sticky
	short.Target.Session, short.Target.SessionTTL = "s2", 30*time.Second
	a := dialGreet(t, r, short)
	dialGreet(t, r, rotating)
	clk.advance(29 * time.Second)
	if got := dialGreet(t, r, short); got != a {
		t.Fatalf("short session moved within 29s")
	}
	clk.advance(2 * time.Second) // the rotation points at the other address again
	if got := dialGreet(t, r, short); got == a {
		t.Errorf("short session kept %s past its 30s ttl", got)
	}
}

func TestProductWithoutRouteIsRefused(t *testing.T) {
	r := newRouter(t, Config{Routes: map[subgate.Product]Route{"dc": {Kind: KindDirect}}}, Options{})
	_, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "mob"}, Address: "127.0.0.1:1"})
	if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != "product" {
		t.Fatalf("err = %v", err)
	}
	// The default product (res) has no route either.
	_, err = r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: "127.0.0.1:1"})
	if subgate.ErrorCode(err) != subgate.EINVALID {
		t.Fatalf("default product: err = %v", err)
	}
}

func upstreamConfig(product subgate.Product, ups ...Upstream) Config {
	return Config{Routes: map[subgate.Product]Route{product: {Kind: KindUpstream, Upstreams: ups}}}
}

func TestNetNutTargetingOverHTTPConnect(t *testing.T) {
	o := startOrigin(t)
	up := routetest.StartUpstream(t, "127.0.0.4", false)
	r := newRouter(t, Config{Routes: map[subgate.Product]Route{
		"res": {Kind: KindUpstream, Upstreams: []Upstream{{Name: "netnut", Proxy: Proxy{Protocol: "http", Address: up.Addr(), Username: "acct", Password: "secret", Preset: PresetNetNut}}}},
		"mob": {Kind: KindUpstream, Upstreams: []Upstream{{Name: "netnut", Proxy: Proxy{Protocol: "http", Address: up.Addr(), Username: "acct", Password: "secret", Preset: PresetNetNut}}}},
	}}, Options{})
	sid := deriveSession(42, "123456").Num
	for _, tc := range []struct {
		target subgate.Target
		want   string
	}{
		{subgate.Target{}, "acct-res-any"},
		{subgate.Target{Country: "us"}, "acct-res-us"},
		{subgate.Target{Country: "gb"}, "acct-res-uk"},
		{subgate.Target{Country: "UK"}, "acct-res-uk"},
		{subgate.Target{Country: "us", State: "california", City: "los angeles"}, "acct-res_sc-us_california_losangeles"},
		{subgate.Target{Country: "us", Session: "123456"}, "acct-res-us-sid-" + sid},
		{subgate.Target{Product: "mob", Country: "fr"}, "acct-mob-fr"},
	} {
		if got := dialGreet(t, r, subgate.DialRequest{SubUser: subUser(42), Target: tc.target, Address: o.addr()}); got != "127.0.0.4" {
			t.Errorf("origin saw %s, want the upstream's 127.0.0.4", got)
		}
		rec := up.Last(t)
		if rec.User != tc.want || rec.Pass != "secret" || rec.Target != o.addr() {
			t.Errorf("target %+v: upstream got %+v, want user %q", tc.target, rec, tc.want)
		}
	}
}

func TestIPRoyalTargetingOverSOCKS5(t *testing.T) {
	o := startOrigin(t)
	up := routetest.StartUpstream(t, "127.0.0.4", true)
	r := newRouter(t, upstreamConfig("res", Upstream{Name: "iproyal", Proxy: Proxy{Protocol: "socks5", Address: up.Addr(), Username: "acct", Password: "pw", Preset: PresetIPRoyal}}),
		Options{})
	sess := deriveSession(9, "abc").Alnum
	for _, tc := range []struct {
		target subgate.Target
		want   string
	}{
		{subgate.Target{}, "pw"},
		{subgate.Target{Country: "de", City: "berlin"}, "pw_country-de_city-berlin"},
		{subgate.Target{Country: "us", Session: "abc"}, "pw_country-us_session-" + sess + "_lifetime-10m"},
		{subgate.Target{Session: "abc", SessionTTL: 30 * time.Minute}, "pw_session-" + sess + "_lifetime-30m"},
	} {
		if got := dialGreet(t, r, subgate.DialRequest{SubUser: subUser(9), Target: tc.target, Address: o.addr()}); got != "127.0.0.4" {
			t.Errorf("origin saw %s", got)
		}
		if rec := up.Last(t); rec.User != "acct" || rec.Pass != tc.want {
			t.Errorf("target %+v: upstream got %+v, want password %q", tc.target, rec, tc.want)
		}
	}
}

func TestSubUsersNeverShareAnUpstreamSession(t *testing.T) {
	o := startOrigin(t)
	up := routetest.StartUpstream(t, "127.0.0.1", false)
	r := newRouter(t, upstreamConfig("res", Upstream{Proxy: Proxy{Address: up.Addr(), Username: "u", Password: "p", Preset: PresetGeneric}}), Options{})
	var a1, a2 admits
	dialGreet(t, r, subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Country: "us", Session: "same"}, Address: o.addr(), Admit: a1.admit})
	u1 := up.Last(t).User
	dialGreet(t, r, subgate.DialRequest{SubUser: subUser(2), Target: subgate.Target{Country: "us", Session: "same"}, Address: o.addr(), Admit: a2.admit})
	u2 := up.Last(t).User
	if u1 == u2 {
		t.Fatalf("two sub-users with session %q reached the upstream as the same %q", "same", u1)
	}
	if want := "u-country-us-session-" + deriveSession(1, "same").Alnum; u1 != want {
		t.Errorf("generic preset wrote %q, want %q", u1, want)
	}
	if a1.list()[0] == a2.list()[0] {
		t.Errorf("both sub-users admitted as egress %q", a1.list()[0])
	}
}

func TestCustomTemplates(t *testing.T) {
	o := startOrigin(t)
	up := routetest.StartUpstream(t, "127.0.0.1", false)
	r := newRouter(t, upstreamConfig("res", Upstream{Proxy: Proxy{Address: up.Addr(), Username: "acct", Password: "pw",
		UserTemplate: "customer-{user}[-cc-{COUNTRY}][-sessid-{session_hex}-sesstime-{ttl_min}]", PasswordTemplate: "{pass}"}}), Options{})
	dialGreet(t, r, subgate.DialRequest{SubUser: subUser(5), Target: subgate.Target{Country: "us", Session: "x", SessionTTL: 20 * time.Minute}, Address: o.addr()})
	want := "customer-acct-cc-US-sessid-" + deriveSession(5, "x").Hex + "-sesstime-20"
	if rec := up.Last(t); rec.User != want || rec.Pass != "pw" {
		t.Errorf("upstream got %+v, want user %q", rec, want)
	}
}

func TestChainThroughHTTPThenSOCKS5(t *testing.T) {
	o := startOrigin(t)
	first := routetest.StartUpstream(t, "127.0.0.4", false)
	last := routetest.StartUpstream(t, "127.0.0.5", true)
	r := newRouter(t, upstreamConfig("res", Upstream{Name: "chain",
		Proxy: Proxy{Protocol: "socks5", Address: last.Addr(), Username: "acct", Password: "pw", Preset: PresetIPRoyal},
		Via:   []Proxy{{Protocol: "http", Address: first.Addr(), Username: "hop", Password: "hoppw"}}}), Options{})
	if got := dialGreet(t, r, subgate.DialRequest{SubUser: subUser(3), Target: subgate.Target{Country: "nl"}, Address: o.addr()}); got != "127.0.0.5" {
		t.Errorf("origin saw %s, want the last hop 127.0.0.5", got)
	}
	if rec := first.Last(t); rec.Target != last.Addr() || rec.User != "hop" || rec.Pass != "hoppw" {
		t.Errorf("first hop got %+v", rec)
	}
	if rec := last.Last(t); rec.Target != o.addr() || rec.Pass != "pw_country-nl" {
		t.Errorf("last hop got %+v", rec)
	}
}

func TestFailedUpstreamIsSkippedAndBacksOff(t *testing.T) {
	o := startOrigin(t)
	live := routetest.StartUpstream(t, "127.0.0.4", false)
	dead := deadAddr(t)
	clk := newClock()
	reg := prometheus.NewRegistry()
	cfg := upstreamConfig("res",
		Upstream{Name: "dead", Proxy: Proxy{Address: dead}},
		Upstream{Name: "live", Proxy: Proxy{Address: live.Addr()}})
	cfg.UnhealthyBackoff = Duration(30 * time.Second)
	r := newRouter(t, cfg, Options{Now: clk.now, Registerer: reg})
	req := subgate.DialRequest{SubUser: subUser(1), Address: o.addr()}
	deadLabels := map[string]string{"product": "res", "egress": "dead"}

	if got := dialGreet(t, r, req); got != "127.0.0.4" {
		t.Fatalf("origin saw %s", got)
	}
	if metricValue(t, reg, "subgate_route_egress_up", deadLabels) != 0 ||
		metricValue(t, reg, "subgate_route_egress_failures_total", deadLabels) != 1 {
		t.Fatal("dead upstream not marked down")
	}
	// Within the back-off the dead upstream is not tried again.
	for range 3 {
		dialGreet(t, r, req)
	}
	if n := metricValue(t, reg, "subgate_route_egress_failures_total", deadLabels); n != 1 {
		t.Errorf("dead upstream tried during back-off: %v failures", n)
	}
	// After the back-off it is tried again, fails, and backs off twice as long.
	clk.advance(31 * time.Second)
	if metricValue(t, reg, "subgate_route_egress_up", deadLabels) != 1 {
		t.Error("upstream still reported down after its back-off")
	}
	dialGreet(t, r, req)
	dialGreet(t, r, req)
	if n := metricValue(t, reg, "subgate_route_egress_failures_total", deadLabels); n != 2 {
		t.Fatalf("failures = %v after the back-off, want 2", n)
	}
	clk.advance(31 * time.Second)
	if metricValue(t, reg, "subgate_route_egress_up", deadLabels) != 0 {
		t.Error("second back-off did not double")
	}
	if metricValue(t, reg, "subgate_route_egress_up", map[string]string{"egress": "live"}) != 1 {
		t.Error("live upstream reported down")
	}

	h := r.Health()
	if len(h) != 2 || h[0].Egress != "dead" || h[0].Up || h[0].DownUntil == nil || h[0].Failures != 2 || !h[1].Up {
		t.Errorf("Health() = %+v", h)
	}

	// With every upstream down the dial fails with an EgressError.
	r2 := newRouter(t, upstreamConfig("res", Upstream{Name: "a", Proxy: Proxy{Address: dead}}, Upstream{Name: "b", Proxy: Proxy{Address: deadAddr(t)}}), Options{})
	_, err := r2.Dial(context.Background(), req)
	var ee *EgressError
	if !errors.As(err, &ee) || ee.Product != "res" {
		t.Fatalf("err = %v, want EgressError", err)
	}
}

func TestStickySessionMovesOffAFailedUpstream(t *testing.T) {
	o := startOrigin(t)
	a := routetest.StartUpstream(t, "127.0.0.4", false)
	b := routetest.StartUpstream(t, "127.0.0.5", false)
	r := newRouter(t, upstreamConfig("res", Upstream{Name: "a", Proxy: Proxy{Address: a.Addr()}}, Upstream{Name: "b", Proxy: Proxy{Address: b.Addr()}}), Options{})
	req := subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Session: "s"}, Address: o.addr()}
	first := dialGreet(t, r, req)
	if first != "127.0.0.4" {
		t.Fatalf("first dial went to %s", first)
	}
	a.Close()
	if got := dialGreet(t, r, req); got != "127.0.0.5" {
		t.Fatalf("after a went down the session went to %s", got)
	}
	if got := dialGreet(t, r, req); got != "127.0.0.5" {
		t.Errorf("session did not stay on its new upstream: %s", got)
	}
}

func TestUpstreamRefusals(t *testing.T) {
	o := startOrigin(t)
	for _, tc := range []struct {
		name       string
		socks      bool
		status     int
		rejectAuth bool
		failover   bool
	}{
		{"http 502 is the target's", false, 502, false, false},
		{"http 490 no ips for country", false, 490, false, false},
		{"socks5 host unreachable", true, 502, false, false},
		{"http 407 is ours: try the next", false, 407, false, true},
		{"socks5 auth rejected is ours: try the next", true, 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := routetest.StartUpstream(t, "127.0.0.4", tc.socks)
			bad.Status, bad.RejectAuth = tc.status, tc.rejectAuth
			good := routetest.StartUpstream(t, "127.0.0.5", false)
			proto := ProtocolHTTP
			if tc.socks {
				proto = ProtocolSOCKS5
			}
			r := newRouter(t, upstreamConfig("res", Upstream{Name: "bad", Proxy: Proxy{Protocol: proto, Address: bad.Addr(), Username: "u", Password: "p"}},
				Upstream{Name: "good", Proxy: Proxy{Address: good.Addr()}}), Options{})
			c, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: o.addr()})
			if tc.failover {
				if err != nil {
					t.Fatalf("no failover: %v", err)
				}
				defer c.Close()
				if got := greeting(t, c); got != "127.0.0.5" {
					t.Errorf("origin saw %s", got)
				}
				if len(bad.Records()) != 1 {
					t.Errorf("the rejecting upstream saw %d attempts, want 1", len(bad.Records()))
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || re.Status != tc.status || re.Upstream != "bad" {
				t.Fatalf("err = %v, want a refusal with status %d", err, tc.status)
			}
			if len(good.Records()) != 0 {
				t.Error("a refusal about the target was retried on another upstream")
			}
		})
	}
}

func TestLeastConnectionsPicksTheIdlestUpstream(t *testing.T) {
	o := startOrigin(t)
	a := routetest.StartUpstream(t, "127.0.0.4", false)
	b := routetest.StartUpstream(t, "127.0.0.5", false)
	reg := prometheus.NewRegistry()
	cfg := upstreamConfig("res", Upstream{Name: "a", Proxy: Proxy{Address: a.Addr()}}, Upstream{Name: "b", Proxy: Proxy{Address: b.Addr()}})
	route := cfg.Routes["res"]
	route.Pick = PickLeastConn
	cfg.Routes["res"] = route
	r := newRouter(t, cfg, Options{Registerer: reg})
	req := subgate.DialRequest{SubUser: subUser(1), Address: o.addr()}
	var held []net.Conn
	var seen []string
	for range 4 {
		c, err := r.Dial(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		seen = append(seen, greeting(t, c))
	}
	count := func(ip string) int {
		n := 0
		for _, s := range seen {
			if s == ip {
				n++
			}
		}
		return n
	}
	if count("127.0.0.4") != 2 || count("127.0.0.5") != 2 {
		t.Fatalf("4 held connections spread as %v", seen)
	}
	if v := metricValue(t, reg, "subgate_route_egress_active_connections", map[string]string{"egress": "a"}); v != 2 {
		t.Errorf("active on a = %v", v)
	}
	// Free both connections on a: the next two go there.
	for i, s := range seen {
		if s == "127.0.0.4" {
			held[i].Close()
			held[i].Close() // a second close does not count twice
		}
	}
	if v := metricValue(t, reg, "subgate_route_egress_active_connections", map[string]string{"egress": "a"}); v != 0 {
		t.Errorf("active on a after close = %v", v)
	}
	for range 2 {
		c, err := r.Dial(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if got := greeting(t, c); got != "127.0.0.4" {
			t.Errorf("least-connections picked %s while a was idle", got)
		}
	}
	for _, c := range held {
		c.Close()
	}
}

func TestAdmitRefusalStopsTheDial(t *testing.T) {
	o := startOrigin(t)
	up := routetest.StartUpstream(t, "127.0.0.1", false)
	capErr := &subgate.Refusal{Code: subgate.ReasonIPCap, Message: "ip usage cap reached"}
	refuse := func(string) error { return capErr }
	for name, cfg := range map[string]Config{
		"direct":   {AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"res": {Kind: KindDirect, SourceAddrs: []string{"127.0.0.2"}}}},
		"upstream": upstreamConfig("res", Upstream{Proxy: Proxy{Address: up.Addr()}}),
		"static":   {AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"res": {Kind: KindStatic, Static: []StaticEgress{{Address: "127.0.0.3"}}}}},
	} {
		r := newRouter(t, cfg, Options{})
		_, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Session: "s"}, Address: o.addr(), Admit: refuse})
		if err != capErr {
			t.Errorf("%s: err = %v, want the admit refusal", name, err)
		}
	}
	if o.accepted() != 0 || len(up.Records()) != 0 {
		t.Errorf("a refused dial still connected: origin %d, upstream %d", o.accepted(), len(up.Records()))
	}
}

func TestSlowUpstreamTimesOutAndFailsOver(t *testing.T) {
	o := startOrigin(t)
	// A black hole: accepts and never answers.
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	live := routetest.StartUpstream(t, "127.0.0.4", false)
	cfg := upstreamConfig("res", Upstream{Name: "hole", Proxy: Proxy{Address: hole.Addr().String()}}, Upstream{Name: "live", Proxy: Proxy{Address: live.Addr()}})
	cfg.DialTimeout = Duration(200 * time.Millisecond)
	r := newRouter(t, cfg, Options{})
	start := time.Now()
	if got := dialGreet(t, r, subgate.DialRequest{SubUser: subUser(1), Address: o.addr()}); got != "127.0.0.4" {
		t.Fatalf("origin saw %s", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failover took %v", d)
	}

	// The caller's context bounds the whole dial.
	only := upstreamConfig("res", Upstream{Name: "hole", Proxy: Proxy{Address: hole.Addr().String()}})
	r = newRouter(t, only, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = r.Dial(ctx, subgate.DialRequest{SubUser: subUser(1), Address: o.addr()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
}
