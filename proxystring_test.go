package subgate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// cred is one proxy credential as a client sends it.
type cred struct{ user, pass string }

// Every provider's syntax for the same request parses to the same Target.
func TestProxySyntaxesAgree(t *testing.T) {
	const pw = "pw12"
	groups := []struct {
		want  subgate.Target
		creds []cred
	}{
		{subgate.Target{Country: "us", Session: "abcd1234", SessionTTL: 30 * time.Minute}, []cred{
			{"alice-country-us-session-abcd1234-ttl-30m", pw},           // subgate
			{"alice-country-us-ssid-abcd1234-sst-30", pw},               // 9Proxy
			{"customer-alice-cc-US-sessid-abcd1234-sesstime-30", pw},    // Oxylabs
			{"alice", pw + "_country-us_session-abcd1234_lifetime-30m"}, // IPRoyal
			{"alice-country-us", pw + "_session-abcd1234_lifetime-30m"}, // both halves
		}},
		{subgate.Target{Product: subgate.ProductResidential, Country: "us", Session: "123456"}, []cred{
			{"alice-res-us-sid-123456", pw}, // NetNut
			{"alice-RES-US-SID-123456", pw},
			{"alice-product-res-country-us-sid-123456", pw},
			{"alice-product-res", pw + "_country-us_session-123456"},
			{"alice-res-us-sid-123456", pw + "_streaming-1_forcerandom-1"},
		}},
		{subgate.Target{Product: subgate.ProductResidential, Country: "us", State: "california", City: "losangeles"}, []cred{
			{"alice-res_sc-us_california_losangeles", pw},
			{"alice-product-res-country-us-state-california-city-losangeles", pw},
			{"alice-type-res", pw + "_country-us_state-california_city-losangeles"},
		}},
		{subgate.Target{Country: "us", State: "california", City: "losangeles"}, []cred{
			{"customer-alice-st-us_california-city-losangeles", pw},
			{"customer-alice-cc-us-st-us_california-city-losangeles", pw},
			{"alice-country-us-state-california-city-losangeles", pw},
			{"alice", pw + "_country-us_state-california_city-losangeles_region-northamerica_skipispstatic-1"},
		}},
		{subgate.Target{Product: subgate.ProductResidential, Country: "us", State: "california"}, []cred{
			{"alice-res_s-us_california", pw},
			{"alice-product-res-country-us-state-california", pw},
		}},
		{subgate.Target{Product: subgate.ProductStatic, Country: "de", City: "berlin"}, []cred{
			{"alice-stc_c-de_berlin", pw},
			{"alice-product-stc", pw + "_country-de_city-berlin"},
		}},
		{subgate.Target{Product: subgate.ProductDatacenter, Country: "gb"}, []cred{
			{"alice-dc-uk", pw},
			{"alice-dc-gb", pw},
			{"alice-type-dc-cc-uk", pw},
			{"alice-dc-any", pw + "_country-gb"},
		}},
		{subgate.Target{Product: subgate.ProductMobile}, []cred{
			{"alice-mob-any", pw},
			{"alice-product-mob", pw},
		}},
		{subgate.Target{}, []cred{
			{"alice", pw},
			{"customer-alice", pw},
			{"alice", pw + "_region-europe"},
		}},
	}
	for _, g := range groups {
		for _, c := range g.creds {
			user, pass, got, err := subgate.ParseProxyCredentials(c.user, c.pass)
			if err != nil || user != "alice" || pass != pw || got != g.want {
				t.Errorf("%s:%s = %q %q %+v %v; want alice %+v", c.user, c.pass, user, pass, got, err, g.want)
			}
			if name := subgate.ProxyUsername(c.user); name != "alice" {
				t.Errorf("ProxyUsername(%q) = %q", c.user, name)
			}
		}
	}
}

// A sub-user called "customer" is not mistaken for an Oxylabs prefix: its
// strings have an odd number of parts.
func TestProxySyntaxCustomerIsAUsername(t *testing.T) {
	for in, want := range map[string]subgate.Target{
		"customer":                   {},
		"customer-country-us":        {Country: "us"},
		"customer-res-us-sid-1":      {Product: subgate.ProductResidential, Country: "us", Session: "1"},
		"customer-customer-cc-de":    {Country: "de"}, // Oxylabs, username "customer"
		"customer-customer-sessid-x": {Session: "x"},
	} {
		user, got, err := subgate.ParseProxyUsername(in)
		if err != nil || user != "customer" || got != want {
			t.Errorf("%q = %q %+v %v; want customer %+v", in, user, got, err, want)
		}
	}
}

// Malformed and ambiguous strings are refused naming the part at fault.
func TestProxySyntaxRefusals(t *testing.T) {
	for _, tt := range []struct {
		user, pass string
		field      string
	}{
		{"-res-us", "pw12", "username"},
		{"customer--cc-us", "pw12", "username"},
		{"alice-res", "pw12", "res"},                            // NetNut needs a location
		{"alice-res-usa", "pw12", "country"},                    // not a country code
		{"alice-res-us-sid", "pw12", "sid"},                     // sid without a value
		{"alice-res-us-sid-a_b", "pw12", "session"},             // not letters and digits
		{"alice-res-us-country-de", "pw12", "country"},          // key-value after a NetNut location
		{"alice-res-us-sid-1-sid-2", "pw12", "sid"},             // more than one sid
		{"alice-res_x-us", "pw12", "res_x"},                     // unknown location form
		{"alice-res_sc-us_california", "pw12", "us_california"}, // _sc needs state and city
		{"alice-res_s-us", "pw12", "us"},                        // _s needs a state
		{"alice-res_sc-any_california_la", "pw12", "country"},
		{"customer-alice-cc-US-zip-12345", "pw12", "zip"},       // not supported here
		{"customer-alice-country-us", "pw12", "country"},        // not an Oxylabs key
		{"customer-alice-st-california", "pw12", "st"},          // st is country_state
		{"customer-alice-st-usa_california", "pw12", "st"},      // st's country
		{"customer-alice-cc-de-st-us_california", "pw12", "st"}, // st and cc disagree
		{"customer-alice-sesstime-0", "pw12", "ttl"},
		{"customer-alice-cc-us-cc-de", "pw12", "country"}, // given twice
		{"customer-alice-cc", "pw12", "alice"},            // odd: key-value for a user "customer"
		{"alice-ssid-abc-session-def", "pw12", "session"},
		{"alice-country", "pw12", "country"},
		{"alice-colour-red", "pw12", "colour"},
		{"alice", "pw12_colour-red", "colour"},
		{"alice", "pw12_region-europe_region-asia", "region"},
		{"alice", "pw12_lifetime-8d", "ttl"},
		// The username and the password disagree.
		{"alice-country-us", "pw12_country-de", "country"},
		{"alice-res-us", "pw12_country-de", "country"},
		{"customer-alice-sessid-abc", "pw12_session-xyz", "session"},
		{"alice-sst-10", "pw12_lifetime-20m", "ttl"},
	} {
		_, _, got, err := subgate.ParseProxyCredentials(tt.user, tt.pass)
		if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != tt.field {
			t.Errorf("%s:%s = %+v, %v; want EINVALID on %q", tt.user, tt.pass, got, err, tt.field)
		}
	}
}

// A conflict between username and password names both values and where
// each came from.
func TestProxySyntaxConflictNamesBoth(t *testing.T) {
	_, _, _, err := subgate.ParseProxyCredentials("alice-res-us", "pw12_country-de")
	msg := subgate.ErrorMessage(err)
	for _, want := range []string{`"us"`, `"de"`, "username", "password"} {
		if !strings.Contains(msg, want) {
			t.Errorf("conflict message %q lacks %s", msg, want)
		}
	}
}

// Every syntax's username is free of '-' by construction: creating one with
// it says why.
func TestValidateUsernameExplainsDash(t *testing.T) {
	err := subgate.ValidateUsername("username", "carol-res")
	if subgate.ErrorField(err) != "username" || !strings.Contains(subgate.ErrorMessage(err), "'-' separates targeting parameters in proxy usernames") {
		t.Fatalf("err = %v", err)
	}
}

// The gateway parses every connection's credentials once.
func BenchmarkParseProxyCredentials(b *testing.B) {
	for _, c := range []cred{
		{"alice-country-us-session-abc123-ttl-10m", "pw12"},
		{"alice-res_sc-us_california_losangeles-sid-123456", "pw12"},
		{"customer-alice-cc-US-sessid-abc123-sesstime-10", "pw12"},
		{"alice", "pw12_country-us_session-abcd1234_lifetime-10m"},
	} {
		b.Run(c.user, func(b *testing.B) {
			for b.Loop() {
				if _, _, _, err := subgate.ParseProxyCredentials(c.user, c.pass); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A refusal's message names its field once: the gateway shows it verbatim
// to the customer ("bad_parameter: ttl must be …").
func TestProxySyntaxRefusalNamesFieldOnce(t *testing.T) {
	for _, tt := range []struct{ user, pass string }{
		{"alice-ttl-99y", "pw12"},
		{"alice-ttl-8d", "pw12"},
		{"alice", "pw12_lifetime-99y"},
		{"customer-alice-sesstime-abc", "pw12"},
		{"alice-country-usa", "pw12"},
	} {
		_, _, _, err := subgate.ParseProxyCredentials(tt.user, tt.pass)
		field, msg := subgate.ErrorField(err), subgate.ErrorMessage(err)
		if field == "" || !strings.HasPrefix(msg, field+" ") || strings.HasPrefix(msg, field+" "+field+" ") {
			t.Errorf("%s:%s: message %q should name %q once, first", tt.user, tt.pass, msg, field)
		}
	}
}

// A country code that names no country is refused, in every syntax, rather
// than passed to an upstream that cannot honour it.
func TestProxySyntaxRefusesUnknownCountry(t *testing.T) {
	for _, tt := range []struct{ user, pass string }{
		{"alice-country-zz", "pw12"},
		{"alice-res-zz", "pw12"},
		{"customer-alice-cc-ZZ", "pw12"},
		{"alice", "pw12_country-zz"},
	} {
		_, _, _, err := subgate.ParseProxyCredentials(tt.user, tt.pass)
		if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != "country" {
			t.Errorf("%s:%s: err = %v; want EINVALID on country", tt.user, tt.pass, err)
		}
	}
	for _, user := range []string{"alice-country-uk", "alice-res-us", "alice-res-any", "customer-alice-cc-DE"} {
		if _, _, _, err := subgate.ParseProxyCredentials(user, "pw12"); err != nil {
			t.Errorf("%s: %v", user, err)
		}
	}
}
