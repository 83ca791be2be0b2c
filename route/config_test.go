package route

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

const sampleConfig = `{
  "default_product": "res",
  "session_ttl": "15m",
  "dial_timeout": 5,
  "routes": {
    "dc":  {"kind": "direct", "source_addrs": ["127.0.0.2", "127.0.0.3"]},
    "res": {"kind": "upstream", "pick": "least_conn", "upstreams": [
      {"name": "nn", "protocol": "http", "address": "gw.example:5959", "username": "acct", "password": "pw", "preset": "netnut"},
      {"protocol": "socks5", "address": "geo.example:12321", "username": "u", "password": "p", "preset": "iproyal",
       "via": [{"address": "hop.example:3128"}]}
    ]},
    "stc": {"kind": "static", "static": [
      {"address": "127.0.0.9", "country": "US", "access_point": "nyc"},
      {"proxy": "socks5://10.1.2.3:1080:user:pass", "country": "de"}
    ]}
  }
}`

func TestLoadFillsDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "routes.json")
	if err := os.WriteFile(path, []byte(sampleConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.SessionTTL) != 15*time.Minute || time.Duration(c.DialTimeout) != 5*time.Second {
		t.Errorf("durations: ttl %v, dial %v", time.Duration(c.SessionTTL), time.Duration(c.DialTimeout))
	}
	if time.Duration(c.UnhealthyBackoff) != DefaultUnhealthyBackoff || c.MaxSessions != DefaultMaxSessions {
		t.Errorf("defaults not filled: %+v", c)
	}
	res := c.Routes["res"]
	if res.Upstreams[1].Name != "geo.example:12321" || res.Upstreams[1].Via[0].Protocol != ProtocolHTTP {
		t.Errorf("upstream defaults not filled: %+v", res.Upstreams[1])
	}
	if dc := c.Routes["dc"]; dc.Pick != PickRoundRobin {
		t.Errorf("pick default = %q", dc.Pick)
	}
	stc := c.Routes["stc"].Static
	if stc[0].ID != "127.0.0.9" || stc[0].Country != "us" || stc[1].ID != "10.1.2.3:1080" {
		t.Errorf("static egress not normalised: %+v", stc)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name, json, field string
	}{
		{"no routes", `{"routes":{}}`, "routes"},
		{"bad product", `{"routes":{"xyz":{"kind":"direct"}}}`, "routes.xyz"},
		{"any product", `{"routes":{"*":{"kind":"direct"}}}`, "routes.*"},
		{"bad default", `{"default_product":"*","routes":{"res":{"kind":"direct"}}}`, "default_product"},
		{"missing kind", `{"routes":{"res":{}}}`, "routes.res.kind"},
		{"bad kind", `{"routes":{"res":{"kind":"tunnel"}}}`, "routes.res.kind"},
		{"bad pick", `{"routes":{"res":{"kind":"direct","pick":"random"}}}`, "routes.res.pick"},
		{"bad source", `{"routes":{"dc":{"kind":"direct","source_addrs":["127.0.0.2","nope"]}}}`, "routes.dc.source_addrs[1]"},
		{"repeated source", `{"routes":{"dc":{"kind":"direct","source_addrs":["127.0.0.2","127.0.0.2"]}}}`, "routes.dc.source_addrs[1]"},
		{"no upstreams", `{"routes":{"res":{"kind":"upstream"}}}`, "routes.res.upstreams"},
		{"bad address", `{"routes":{"res":{"kind":"upstream","upstreams":[{"address":"nohost"}]}}}`, "routes.res.upstreams[0].address"},
		{"bad port", `{"routes":{"res":{"kind":"upstream","upstreams":[{"address":"h:99999"}]}}}`, "routes.res.upstreams[0].address"},
		{"bad protocol", `{"routes":{"res":{"kind":"upstream","upstreams":[{"protocol":"ftp","address":"h:1"}]}}}`, "routes.res.upstreams[0].protocol"},
		{"bad preset", `{"routes":{"res":{"kind":"upstream","upstreams":[{"address":"h:1","preset":"oxy"}]}}}`, "routes.res.upstreams[0].preset"},
		{"bad template", `{"routes":{"res":{"kind":"upstream","upstreams":[{"address":"h:1","user_template":"{user}-{zone}"}]}}}`, "routes.res.upstreams[0].user_template"},
		{"bad via", `{"routes":{"res":{"kind":"upstream","upstreams":[{"address":"h:1","via":[{"address":"x"}]}]}}}`, "routes.res.upstreams[0].via[0].address"},
		{"repeated name", `{"routes":{"res":{"kind":"upstream","upstreams":[{"name":"a","address":"h:1"},{"name":"a","address":"h:2"}]}}}`, "routes.res.upstreams[1].name"},
		{"empty static", `{"routes":{"stc":{"kind":"static"}}}`, "routes.stc.static"},
		{"static both", `{"routes":{"stc":{"kind":"static","static":[{"address":"127.0.0.2","proxy":"h:1:u:p"}]}}}`, "routes.stc.static[0]"},
		{"static country", `{"routes":{"stc":{"kind":"static","static":[{"address":"127.0.0.2","country":"usa"}]}}}`, "routes.stc.static[0]"},
		{"static proxy", `{"routes":{"stc":{"kind":"static","static":[{"proxy":"h:1:u"}]}}}`, "routes.stc.static[0]"},
		{"negative ttl", `{"session_ttl":"-1m","routes":{"res":{"kind":"direct"}}}`, "session_ttl"},
		{"ttl above max", `{"session_ttl":"2h","max_session_ttl":"1h","routes":{"res":{"kind":"direct"}}}`, "session_ttl"},
		{"unknown field", `{"routez":{}}`, "config"},
		{"bad duration", `{"session_ttl":"soon","routes":{"res":{"kind":"direct"}}}`, "config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			err := Parse([]byte(tc.json), &c)
			if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != tc.field {
				t.Fatalf("err = %v (field %q), want EINVALID on %q", err, subgate.ErrorField(err), tc.field)
			}
		})
	}
}

func TestParseStaticProxy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Proxy
	}{
		{"10.0.0.1:8080:u:p", Proxy{Protocol: "http", Address: "10.0.0.1:8080", Username: "u", Password: "p"}},
		{"socks5://h.example:1080:u:p:with:colons", Proxy{Protocol: "socks5", Address: "h.example:1080", Username: "u", Password: "p:with:colons"}},
		{"[::1]:3128:u:p", Proxy{Protocol: "http", Address: "[::1]:3128", Username: "u", Password: "p"}},
		{"h.example:3128", Proxy{Protocol: "http", Address: "h.example:3128"}},
	} {
		got, err := ParseStaticProxy(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseStaticProxy(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"h", "h:1:u", "ftp://h:1:u:p", "h:0:u:p", "[::1:80:u:p"} {
		if _, err := ParseStaticProxy(bad); err == nil {
			t.Errorf("ParseStaticProxy(%q) accepted", bad)
		}
	}
}

func TestConfigRoundTripsThroughJSON(t *testing.T) {
	var c Config
	if err := Parse([]byte(sampleConfig), &c); err != nil {
		t.Fatal(err)
	}
	r, err := New(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Config()
	if time.Duration(got.SessionTTL) != 15*time.Minute || got.Routes["res"].Upstreams[0].Preset != PresetNetNut {
		t.Errorf("config in force = %+v", got)
	}
	// The copy handed out is the caller's to change.
	got.Routes["res"].Upstreams[0].Address = "changed:1"
	if r.Config().Routes["res"].Upstreams[0].Address == "changed:1" {
		t.Error("Config returned the router's own state")
	}
	if b, err := got.SessionTTL.MarshalJSON(); err != nil || !strings.Contains(string(b), "15m") {
		t.Errorf("duration marshals as %s, %v", b, err)
	}
}

// The shipped example must stay a valid configuration.
func TestExampleConfigLoads(t *testing.T) {
	c, err := Load("example.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Routes) != 4 || !c.Routes["stc"].Dedicated || c.Routes["res"].Upstreams[2].Via[0].Address != "egress-hop.example:3128" {
		t.Errorf("example loaded as %+v", c)
	}
}

// A malformed static proxy is refused without repeating its password: the
// error reaches API answers, logs and the health report.
func TestParseStaticProxyErrorsHideThePassword(t *testing.T) {
	for _, s := range []string{
		"[2001:db8::1:8080:user:hunter2secret",
		"proxy.example:8080:hunter2secret",
		"gopher://proxy.example:8080:user:hunter2secret",
		"hunter2secret",
	} {
		_, err := ParseStaticProxy(s)
		if err == nil {
			t.Errorf("%q accepted", s)
			continue
		}
		if strings.Contains(err.Error(), "hunter2secret") {
			t.Errorf("%q: error %q repeats the password", s, err)
		}
	}
}
