package route

import (
	"regexp"
	"testing"
	"time"
)

func TestNetNutUser(t *testing.T) {
	for _, tc := range []struct {
		p    Params
		want string
	}{
		{Params{User: "acct", Product: "res"}, "acct-res-any"},
		{Params{User: "acct", Product: "res", Country: "us"}, "acct-res-us"},
		{Params{User: "acct", Product: "res", Country: "gb"}, "acct-res-uk"},
		{Params{User: "acct", Product: "dc", Country: "de"}, "acct-dc-de"},
		{Params{User: "acct", Product: "res", Country: "us", State: "california", City: "losangeles"}, "acct-res_sc-us_california_losangeles"},
		{Params{User: "acct", Product: "res", Country: "us", State: "texas"}, "acct-res_s-us_texas"},
		{Params{User: "acct", Product: "res", Country: "us", City: "dallas"}, "acct-res_c-us_dallas"},
		{Params{User: "acct", Product: "res", Country: "us", SessionNum: "42123456"}, "acct-res-us-sid-42123456"},
		{Params{User: "acct", Product: "mob", SessionNum: "7000001"}, "acct-mob-any-sid-7000001"},
	} {
		if got := netnutUser(tc.p); got != tc.want {
			t.Errorf("netnutUser(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestIPRoyalPassword(t *testing.T) {
	for _, tc := range []struct {
		p    Params
		want string
	}{
		{Params{Pass: "pw"}, "pw"},
		{Params{Pass: "pw", Country: "us"}, "pw_country-us"},
		{Params{Pass: "pw", Country: "de", City: "berlin"}, "pw_country-de_city-berlin"},
		{Params{Pass: "pw", Country: "us", State: "texas", City: "dallas"}, "pw_country-us_state-texas_city-dallas"},
		{Params{Pass: "pw", Country: "us", Session: "abcd1234", TTL: 10 * time.Minute}, "pw_country-us_session-abcd1234_lifetime-10m"},
		{Params{Pass: "pw", Session: "abcd1234", TTL: 90 * time.Second}, "pw_session-abcd1234_lifetime-90s"},
		{Params{Pass: "pw", Session: "abcd1234", TTL: 48 * time.Hour}, "pw_session-abcd1234_lifetime-2d"},
		{Params{Pass: "pw", Session: "abcd1234", TTL: 30 * 24 * time.Hour}, "pw_session-abcd1234_lifetime-7d"},
		{Params{Pass: "pw", Session: "abcd1234", TTL: 300 * time.Millisecond}, "pw_session-abcd1234_lifetime-1s"},
		{Params{Pass: "pw", Session: "abcd1234", TTL: 3 * time.Hour}, "pw_session-abcd1234_lifetime-3h"},
	} {
		if got := iproyalPass(tc.p); got != tc.want {
			t.Errorf("iproyalPass(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestTemplates(t *testing.T) {
	p := Params{User: "u", Pass: "p", Product: "res", Country: "us", Session: "abcd1234", SessionNum: "77", TTL: 5 * time.Minute}
	for _, tc := range []struct {
		tpl  string
		p    Params
		want string
	}{
		{"{user}[-country-{country}][-session-{session}]", p, "u-country-us-session-abcd1234"},
		{"{user}[-country-{country}][-session-{session}]", Params{User: "u"}, "u"},
		{"customer-{user}[-cc-{COUNTRY}][-sessid-{session}-sesstime-{ttl_min}]", p, "customer-u-cc-US-sessid-abcd1234-sesstime-5"},
		{"customer-{user}[-cc-{COUNTRY}][-sessid-{session}-sesstime-{ttl_min}]", Params{User: "u"}, "customer-u"},
		{"{pass}[;ttl={ttl_sec}]", p, "p;ttl=300"},
		{"{user}-{product}[-sid-{session_num}]", p, "u-res-sid-77"},
		{"plain", p, "plain"},
	} {
		tpl, err := ParseTemplate(tc.tpl)
		if err != nil {
			t.Fatalf("ParseTemplate(%q): %v", tc.tpl, err)
		}
		if got := tpl.Render(tc.p); got != tc.want {
			t.Errorf("%q rendered %q, want %q", tc.tpl, got, tc.want)
		}
	}
	for _, bad := range []string{"{user", "{nope}", "[-a-{user}", "[[{user}]]", "a]", "a}"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q) accepted", bad)
		}
	}
}

func TestDerivedSession(t *testing.T) {
	a := deriveSession(7, "abc")
	if a != deriveSession(7, "abc") {
		t.Error("derivation is not deterministic")
	}
	if !regexp.MustCompile(`^[A-Za-z0-9]{8}$`).MatchString(a.Alnum) {
		t.Errorf("IPRoyal session %q is not 8 alphanumerics", a.Alnum)
	}
	if !regexp.MustCompile(`^7[0-9]{6}$`).MatchString(a.Num) {
		t.Errorf("numeric session %q", a.Num)
	}
	b := deriveSession(8, "abc")
	if a.Alnum == b.Alnum || a.Num == b.Num || a.Hex == b.Hex {
		t.Errorf("two sub-users share a derived session: %+v %+v", a, b)
	}
	if c := deriveSession(7, "abd"); c.Alnum == a.Alnum {
		t.Error("different sessions derive the same")
	}
	// Numeric sessions embed the id, so ids 1 and 11 cannot collide by
	// digits either: 1 + 6 digits and 11 + 6 digits differ in length.
	if len(deriveSession(1, "x").Num) == len(deriveSession(11, "x").Num) {
		t.Error("numeric sessions of ids 1 and 11 have the same length")
	}
}

func TestLocationToken(t *testing.T) {
	for in, want := range map[string]string{"Los Angeles": "losangeles", "new_york": "newyork", "US": "us", "são-paulo": "sopaulo"} {
		if got := locationToken(in); got != want {
			t.Errorf("locationToken(%q) = %q, want %q", in, got, want)
		}
	}
}
