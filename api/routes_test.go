package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/api"
	"github.com/subgate/subgate/route"
	"github.com/subgate/subgate/sqlite"
)

const (
	upstreamSecret = "Upstream-Account-Secret"
	viaSecret      = "Via-Hop-Secret"
	staticSecret   = "Static-Proxy-Secret"
)

// routedEnv is an API whose server manages a router (upstreams on loopback
// addresses nothing listens on: no connection is made) following the
// configuration stored in its database, with cfg as the routes file.
func routedEnv(t *testing.T) (*env, *route.Follower) {
	t.Helper()
	return routedEnvWith(t, routesFile())
}

func routedEnvWith(t *testing.T, file route.Config) (*env, *route.Follower) {
	t.Helper()
	r, err := route.New(file, route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var f *route.Follower
	e := newEnvWith(t, func(s *api.Server, store *sqlite.Store) {
		f, err = route.NewFollower(context.Background(), r, store, route.FollowOptions{Fallback: file, FallbackSource: subgate.RouteSourceFile})
		if err != nil {
			t.Fatal(err)
		}
		s.SetRoutes(f)
	})
	return e, f
}

func routesFile() route.Config {
	return route.Config{Routes: map[subgate.Product]route.Route{
		"res": {Kind: route.KindUpstream, Upstreams: []route.Upstream{{
			Name:  "main",
			Proxy: route.Proxy{Address: "127.0.0.1:1", Username: "acct", Password: upstreamSecret, Preset: route.PresetNetNut},
			Via:   []route.Proxy{{Protocol: "socks5", Address: "127.0.0.1:2", Username: "hop", Password: viaSecret}},
		}}},
		"stc": {Kind: route.KindStatic, Static: []route.StaticEgress{
			{Proxy: "socks5://127.0.0.1:3:sp:" + staticSecret, Country: "us"},
			{Address: "127.0.0.5", Country: "de"},
		}},
		"dc": {Kind: route.KindDirect},
	}}
}

func noSecrets(t *testing.T, body []byte) {
	t.Helper()
	for _, s := range []string{upstreamSecret, viaSecret, staticSecret} {
		if strings.Contains(string(body), s) {
			t.Fatalf("answer shows a password: %s", body)
		}
	}
}

func TestRoutesReadRedacted(t *testing.T) {
	t.Parallel()
	e, _ := routedEnv(t)
	got := e.call("GET", "/v1/routes", adminToken, nil).expect(t, 200)
	noSecrets(t, got.Body)
	var cfg route.Config
	got.into(t, &cfg)
	res := cfg.Routes["res"].Upstreams[0]
	if res.Password != "****" || res.Via[0].Password != "****" || res.Username != "acct" {
		t.Fatalf("upstream shown as %+v", res)
	}
	if p := cfg.Routes["stc"].Static[0].Proxy; p != "socks5://127.0.0.1:3:sp:****" {
		t.Fatalf("static proxy shown as %q", p)
	}
	if cfg.SessionTTL == 0 || cfg.DefaultProduct != "res" || cfg.AllowPrivateTargets {
		t.Fatalf("defaults not shown: %+v", cfg)
	}

	var health struct {
		Items []route.EgressHealth
	}
	e.call("GET", "/v1/routes/health", adminToken, nil).expect(t, 200).into(t, &health)
	if len(health.Items) != 4 || !health.Items[0].Up {
		t.Fatalf("health %+v", health.Items)
	}

	var view struct{ Source string }
	got.into(t, &view)
	if view.Source != "file" {
		t.Fatalf("source %q, want file", view.Source)
	}

	wrong := e.call("POST", "/v1/routes", adminToken, nil)
	wrong.expectErr(t, 405, "method_not_allowed", "")
	if allow := wrong.Header.Get("Allow"); allow != "GET, PUT, DELETE" {
		t.Errorf("Allow: %q", allow)
	}

	_, tok := e.reseller("acme", 0)
	e.call("GET", "/v1/routes", tok, nil).expectErr(t, 403, "forbidden", "")
	e.call("GET", "/v1/routes/health", tok, nil).expectErr(t, 403, "forbidden", "")
	e.call("PUT", "/v1/routes", tok, cfg).expectErr(t, 403, "forbidden", "")
	e.call("DELETE", "/v1/routes", tok, nil).expectErr(t, 403, "forbidden", "")
}

func TestRoutesWithoutGatewayAreNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.call("GET", "/v1/routes", adminToken, nil).expectErr(t, 404, "not_found", "")
	e.call("GET", "/v1/routes/health", adminToken, nil).expectErr(t, 404, "not_found", "")
	e.call("PUT", "/v1/routes", adminToken, map[string]any{"routes": map[string]any{"res": map[string]any{"kind": "direct"}}}).
		expectErr(t, 404, "not_found", "")
	e.call("DELETE", "/v1/routes", adminToken, nil).expectErr(t, 404, "not_found", "")
	if v, _ := e.store.RoutesVersion(context.Background()); v != 0 {
		t.Fatalf("a server without a gateway stored routes (version %d)", v)
	}
}

// A configuration read back, changed and put keeps the redacted passwords;
// an invalid one is 400 naming the field and changes nothing.
func TestRoutesReplace(t *testing.T) {
	t.Parallel()
	e, r := routedEnv(t)
	var doc map[string]any
	e.call("GET", "/v1/routes", adminToken, nil).expect(t, 200).into(t, &doc)
	before := r.Config()

	for _, c := range []struct {
		name  string
		edit  func(m map[string]any)
		field string
	}{
		{"bad upstream address", func(m map[string]any) { upstream(m)["address"] = "no-port" }, "routes.res.upstreams[0].address"},
		{"unknown kind", func(m map[string]any) { route0(m, "dc")["kind"] = "tunnel" }, "routes.dc.kind"},
		{"unknown product", func(m map[string]any) { m["routes"].(map[string]any)["gold"] = map[string]any{"kind": "direct"} }, "routes.gold"},
		{"bad source", func(m map[string]any) { route0(m, "dc")["source_addrs"] = []string{"nope"} }, "routes.dc.source_addrs[0]"},
		{"unknown field", func(m map[string]any) { m["colour"] = "blue" }, "colour"},
		{"negative ttl", func(m map[string]any) { m["session_ttl"] = -5 }, "session_ttl"},
		{"redacted password for another host", func(m map[string]any) { upstream(m)["address"] = "127.0.0.1:9" }, "routes.res.upstreams[0].password"},
		{"redacted via password for another account", func(m map[string]any) {
			upstream(m)["via"].([]any)[0].(map[string]any)["username"] = "someone"
		}, "routes.res.upstreams[0].via[0].password"},
		{"redacted static password for another proxy", func(m map[string]any) {
			route0(m, "stc")["static"].([]any)[0].(map[string]any)["proxy"] = "socks5://127.0.0.1:4:sp:****"
		}, "routes.stc.static[0].proxy"},
		// 192.0.2.0/24 is documentation space: no host has it.
		{"source address not on this host", func(m map[string]any) { route0(m, "dc")["source_addrs"] = []string{"192.0.2.7"} }, "routes.dc.source_addrs[0]"},
		{"static address not on this host", func(m map[string]any) {
			route0(m, "stc")["static"].([]any)[1].(map[string]any)["address"] = "192.0.2.8"
		}, "routes.stc.static[1].address"},
		{"unknown source", func(m map[string]any) { m["source"] = "elsewhere" }, "source"},
	} {
		m := clone(t, doc)
		c.edit(m)
		e.call("PUT", "/v1/routes", adminToken, m).expectErr(t, 400, "invalid", c.field)
		if got := r.Config(); !sameJSON(t, got, before) {
			t.Fatalf("%s: a refused PUT changed the configuration", c.name)
		}
		if v, _ := e.store.RoutesVersion(context.Background()); v != 0 {
			t.Fatalf("%s: a refused PUT stored version %d", c.name, v)
		}
	}

	// A valid change: redacted passwords are kept, new ones taken.
	m := clone(t, doc)
	m["session_ttl"] = "5m"
	m["allow_private_targets"] = true
	route0(m, "dc")["source_addrs"] = []string{"127.0.0.2"}
	put := e.call("PUT", "/v1/routes", adminToken, m, "Idempotency-Key", "routes-1").expect(t, 200)
	noSecrets(t, put.Body)
	got := r.Config()
	if !got.AllowPrivateTargets || got.SessionTTL != route.Duration(5*60e9) || got.Routes["dc"].SourceAddrs[0] != "127.0.0.2" {
		t.Fatalf("config after PUT %+v", got)
	}
	up := got.Routes["res"].Upstreams[0]
	if up.Password != upstreamSecret || up.Via[0].Password != viaSecret ||
		got.Routes["stc"].Static[0].Proxy != "socks5://127.0.0.1:3:sp:"+staticSecret {
		t.Fatalf("redacted passwords were not kept: %+v %+v", up, got.Routes["stc"].Static)
	}
	m = clone(t, doc)
	upstream(m)["password"] = "brand-new-pw"
	e.call("PUT", "/v1/routes", adminToken, m).expect(t, 200)
	if pw := r.Config().Routes["res"].Upstreams[0].Password; pw != "brand-new-pw" {
		t.Fatalf("new password not taken: %q", pw)
	}
	// The answer is the configuration now in force, redacted.
	var shown struct {
		route.Config
		Source string
	}
	e.call("GET", "/v1/routes", adminToken, nil).expect(t, 200).into(t, &shown)
	if shown.Routes["res"].Upstreams[0].Password != "****" || shown.AllowPrivateTargets || shown.Source != "stored" {
		t.Fatalf("GET after PUT: %+v", shown)
	}
	// What is stored is what is in force, passwords included.
	st, err := e.store.StoredRoutes(context.Background())
	if err != nil || st.Version != 2 {
		t.Fatalf("stored %d, %v; want version 2", st.Version, err)
	}
	var stored route.Config
	if err := json.Unmarshal(st.Config, &stored); err != nil || !sameJSON(t, stored, r.Config()) {
		t.Fatalf("stored %s, in force %+v (%v)", st.Config, r.Config(), err)
	}
}

// DELETE drops the stored configuration and the routes file is in force
// again; a second DELETE changes nothing.
func TestRoutesDropGoesBackToTheFile(t *testing.T) {
	t.Parallel()
	e, r := routedEnv(t)
	file := r.Config()
	var doc map[string]any
	e.call("GET", "/v1/routes", adminToken, nil).expect(t, 200).into(t, &doc)
	route0(doc, "dc")["source_addrs"] = []string{"127.0.0.2"}
	e.call("PUT", "/v1/routes", adminToken, doc).expect(t, 200)
	if r.State().Source != subgate.RouteSourceStored {
		t.Fatalf("state after PUT %+v", r.State())
	}
	for range 2 {
		var shown struct{ Source string }
		e.call("DELETE", "/v1/routes", adminToken, nil).expect(t, 200).into(t, &shown)
		if shown.Source != "file" || !sameJSON(t, r.Config(), file) {
			t.Fatalf("after DELETE: source %q, config %+v", shown.Source, r.Config())
		}
	}
	st, err := e.store.StoredRoutes(context.Background())
	if err != nil || st.Config != nil {
		t.Fatalf("after DELETE the store holds %s, %v", st.Config, err)
	}
}

// A stored configuration this node cannot use shows in the health answer
// while the previous one stays in force.
func TestRoutesHealthShowsARefusedConfiguration(t *testing.T) {
	t.Parallel()
	e, r := routedEnv(t)
	before := r.Config()
	ctx := context.Background()
	if _, err := e.store.SetStoredRoutes(ctx, []byte(`{"routes":{"dc":{"kind":"direct","source_addrs":["192.0.2.9"]}}}`)); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var health struct {
		Source  string
		Version int64
		Failure *struct {
			Version int64
			Error   string
		}
	}
	e.call("GET", "/v1/routes/health", adminToken, nil).expect(t, 200).into(t, &health)
	if health.Source != "file" || health.Version != 0 || health.Failure == nil || health.Failure.Version != 1 ||
		!strings.Contains(health.Failure.Error, "routes.dc.source_addrs[0]") {
		t.Fatalf("health %+v", health)
	}
	if !sameJSON(t, r.Config(), before) {
		t.Fatal("a refused stored configuration changed the one in force")
	}
}

func clone(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(m)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func route0(m map[string]any, p string) map[string]any {
	return m["routes"].(map[string]any)[p].(map[string]any)
}

func upstream(m map[string]any) map[string]any {
	return route0(m, "res")["upstreams"].([]any)[0].(map[string]any)
}

func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
