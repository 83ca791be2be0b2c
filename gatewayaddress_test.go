package subgate_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func TestParseGatewayAddress(t *testing.T) {
	def := subgate.GatewayAddress{HTTPPort: 3128, SOCKSPort: 3128}
	for _, tc := range []struct {
		in   string
		want subgate.GatewayAddress
		ok   bool
	}{
		{"", def, true},
		{"gw.example.com", subgate.GatewayAddress{Host: "gw.example.com", HTTPPort: 3128, SOCKSPort: 3128}, true},
		{"gw.example.com:8000", subgate.GatewayAddress{Host: "gw.example.com", HTTPPort: 8000, SOCKSPort: 8000}, true},
		{"203.0.113.7:8000:1080", subgate.GatewayAddress{Host: "203.0.113.7", HTTPPort: 8000, SOCKSPort: 1080}, true},
		{"[2001:db8::1]:8000:0", subgate.GatewayAddress{Host: "2001:db8::1", HTTPPort: 8000}, true},
		{"[2001:db8::1]", subgate.GatewayAddress{Host: "2001:db8::1", HTTPPort: 3128, SOCKSPort: 3128}, true},
		{":8000", def, false},
		{"gw:http", def, false},
		{"gw:1:2:3", def, false},
		{"gw:70000", def, false},
		{"[2001:db8::1", def, false},
		{"user@gw:1", def, false},
	} {
		got, err := subgate.ParseGatewayAddress("public_proxy", tc.in, def)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseGatewayAddress(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && subgate.ErrorCode(err) != subgate.EINVALID {
			t.Errorf("ParseGatewayAddress(%q): %v is not EINVALID", tc.in, err)
		}
	}
}

func TestGatewayAddressFromListeners(t *testing.T) {
	for _, tc := range []struct {
		proxy, http, socks string
		want               subgate.GatewayAddress
	}{
		{":3128", "", "", subgate.GatewayAddress{HTTPPort: 3128, SOCKSPort: 3128}},
		{"0.0.0.0:3128", ":8080", ":1080", subgate.GatewayAddress{HTTPPort: 3128, SOCKSPort: 3128}},
		{"127.0.0.1:3128", "", "", subgate.GatewayAddress{Host: "127.0.0.1", HTTPPort: 3128, SOCKSPort: 3128}},
		{"", "10.0.0.1:8080", ":1080", subgate.GatewayAddress{Host: "10.0.0.1", HTTPPort: 8080, SOCKSPort: 1080}},
		{"", "", "", subgate.GatewayAddress{}},
	} {
		if got := subgate.GatewayAddressFromListeners(tc.proxy, tc.http, tc.socks); got != tc.want {
			t.Errorf("from %q %q %q = %+v, want %+v", tc.proxy, tc.http, tc.socks, got, tc.want)
		}
	}
}

// A password with the characters that end a URL's user part still gives a
// URL that parses back to the same credentials.
func TestProxyURLPercentEncodes(t *testing.T) {
	a := subgate.GatewayAddress{HTTPPort: 3128, SOCKSPort: 1080}.ForHost("gw.example.com:8080")
	for _, pass := range []string{"p@ss/w#rd?:x", "plain", "100%sure", "a b"} {
		for scheme, port := range map[string]string{subgate.ProxyHTTP: "3128", subgate.ProxySOCKS5: "1080"} {
			raw := a.ProxyURL(scheme, "alice-country-us", pass)
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("%q: %v", raw, err)
			}
			got, _ := u.User.Password()
			if u.Scheme != scheme || u.User.Username() != "alice-country-us" || got != pass ||
				u.Hostname() != "gw.example.com" || u.Port() != port {
				t.Errorf("%q parses to %s %s:%s@%s:%s", raw, u.Scheme, u.User.Username(), got, u.Hostname(), u.Port())
			}
		}
	}
	if got := (subgate.GatewayAddress{Host: "gw", HTTPPort: 1}).ProxyURL(subgate.ProxySOCKS5, "a", "b"); got != "" {
		t.Errorf("socks URL without a socks port: %q", got)
	}
	if got := (subgate.GatewayAddress{HTTPPort: 3128}).ForHost("[::1]:8080").ProxyURL(subgate.ProxyHTTP, "a", "b"); got != "http://a:b@[::1]:3128" {
		t.Errorf("IPv6 host: %q", got)
	}
}

// Targeting written by the helpers reads back the same through the
// gateway's parser, in both syntaxes.
func TestTargetedCredentialsRoundTrip(t *testing.T) {
	target := subgate.Target{Country: "us", State: "texas", City: "dallas", Session: "abcd1234", SessionTTL: 30 * time.Minute}
	user, pass, got, err := subgate.ParseProxyCredentials(
		subgate.TargetedUsername("alice", subgate.Target{Product: subgate.ProductDatacenter}),
		subgate.TargetedPassword("secret", target))
	want := target
	want.Product = subgate.ProductDatacenter
	if err != nil || user != "alice" || pass != "secret" || got != want {
		t.Fatalf("round trip: %q %q %+v %v", user, pass, got, err)
	}
	if s := subgate.TargetedPassword("pw", subgate.Target{Country: "de", Session: "x1", SessionTTL: 90 * time.Second}); s != "pw_country-de_session-x1_lifetime-90s" {
		t.Errorf("password: %q", s)
	}
	if s := subgate.TargetedUsername("bob", subgate.Target{Country: "us", SessionTTL: 48 * time.Hour}); s != "bob-country-us-ttl-2d" {
		t.Errorf("username: %q", s)
	}
}

func TestProxyTarget(t *testing.T) {
	got, err := subgate.ProxyTarget(map[string]string{"country": "UK", "city": "london", "session": "s1", "ttl": "10m", "product": "dc", "state": ""})
	if err != nil || got != (subgate.Target{Product: subgate.ProductDatacenter, Country: "gb", City: "london", Session: "s1", SessionTTL: 10 * time.Minute}) {
		t.Fatalf("ProxyTarget: %+v %v", got, err)
	}
	for _, tc := range []struct {
		params map[string]string
		field  string
	}{
		{map[string]string{"country": "usa"}, "country"},
		{map[string]string{"session": "a-b"}, "session"},
		{map[string]string{"session": "a!"}, "session"},
		{map[string]string{"ttl": "9d"}, "ttl"},
		{map[string]string{"product": "xyz"}, "product"},
		{map[string]string{"zone": "us"}, "zone"},
	} {
		_, err := subgate.ProxyTarget(tc.params)
		if e, ok := err.(*subgate.Error); !ok || e.Field != tc.field {
			t.Errorf("ProxyTarget(%v) = %v, want an error on %s", tc.params, err, tc.field)
		}
	}
}

// Two easy mistakes, a URL and a bare IPv6 address, are refused with a
// message that says what to write instead.
func TestParseGatewayAddressExplainsCommonMistakes(t *testing.T) {
	for in, want := range map[string]string{
		"http://gw.example.com:3128": "without a scheme",
		"socks5://gw.example.com":    "without a scheme",
		"2001:db8::1":                "brackets",
		"2001:db8::1:3128":           "brackets",
		"gw:1:2:3":                   "HOST[:HTTP_PORT[:SOCKS5_PORT]]",
	} {
		_, err := subgate.ParseGatewayAddress("public_proxy", in, subgate.GatewayAddress{HTTPPort: 3128})
		if subgate.ErrorCode(err) != subgate.EINVALID || !strings.Contains(subgate.ErrorMessage(err), want) {
			t.Errorf("ParseGatewayAddress(%q) = %v; want EINVALID mentioning %q", in, err, want)
		}
	}
}
