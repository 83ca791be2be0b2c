package subgate_test

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func TestParseProxyUsername(t *testing.T) {
	tests := []struct {
		in        string
		user      string
		want      subgate.Target
		wantField string // non-empty: an EINVALID error naming this field
	}{
		{in: "alice", user: "alice"},
		{in: "alice-country-us-session-abc123-ttl-10m", user: "alice",
			want: subgate.Target{Country: "us", Session: "abc123", SessionTTL: 10 * time.Minute}},
		{in: "bob_1-product-res-country-UK-state-california-city-los_angeles", user: "bob_1",
			want: subgate.Target{Product: subgate.ProductResidential, Country: "gb", State: "california", City: "los_angeles"}},
		{in: "bob-type-dc-sesstime-30", user: "bob", want: subgate.Target{Product: subgate.ProductDatacenter, SessionTTL: 30 * time.Minute}},
		{in: "bob-ttl-7d", user: "bob", want: subgate.Target{SessionTTL: 7 * 24 * time.Hour}},
		{in: "bob-ttl-1s", user: "bob", want: subgate.Target{SessionTTL: time.Second}},
		{in: "bob-ttl-1h30m", user: "bob", want: subgate.Target{SessionTTL: 90 * time.Minute}},
		{in: "bob-sid-123456", user: "bob", want: subgate.Target{Session: "123456"}},
		{in: "", wantField: "username"},
		{in: "-country-us", wantField: "username"},
		{in: "bob-country", wantField: "country"},
		{in: "bob-country-usa", wantField: "country"},
		{in: "bob-country-u1", wantField: "country"},
		{in: "bob-colour-red", wantField: "colour"},
		{in: "bob-product-xx", wantField: "product"},
		{in: "bob-product-*", wantField: "product"},
		{in: "bob-session-", wantField: "session"},
		{in: "bob-session-a_b", wantField: "session"},
		{in: "bob-session-" + string(make([]byte, 0)) + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", wantField: "session"},
		{in: "bob-ttl-0", wantField: "ttl"},
		{in: "bob-ttl-8d", wantField: "ttl"},
		{in: "bob-ttl-500ms", wantField: "ttl"},
		{in: "bob-ttl-soon", wantField: "ttl"},
		{in: "bob-country-us-cc-de", wantField: "country"},
		{in: "bob-city-new york", wantField: "city"},
	}
	for _, tt := range tests {
		user, tg, err := subgate.ParseProxyUsername(tt.in)
		if tt.wantField != "" {
			if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != tt.wantField {
				t.Errorf("%q: err = %v, want EINVALID on %q", tt.in, err, tt.wantField)
			}
			continue
		}
		if err != nil || user != tt.user || tg != tt.want {
			t.Errorf("%q = %q, %+v, %v; want %q, %+v", tt.in, user, tg, err, tt.user, tt.want)
		}
	}
}

func TestParseProxyPassword(t *testing.T) {
	tests := []struct {
		in        string
		pass      string
		want      subgate.Target
		wantField string
	}{
		{in: "secret", pass: "secret"},
		{in: "secret_country-us_session-abcd1234_lifetime-10m", pass: "secret",
			want: subgate.Target{Country: "us", Session: "abcd1234", SessionTTL: 10 * time.Minute}},
		{in: "s3cr-t_city-berlin_state-be", pass: "s3cr-t", want: subgate.Target{City: "berlin", State: "be"}},
		{in: "secret_lifetime-2h", pass: "secret", want: subgate.Target{SessionTTL: 2 * time.Hour}},
		{in: "_country-us", wantField: "password"},
		{in: "secret_country", pass: "secret_country"},
		{in: "pass_123", pass: "pass_123"},
		{in: "new_password_country-us", pass: "new_password", want: subgate.Target{Country: "us"}},
		{in: "secret_streaming-1_skipispstatic-1_region-europe", pass: "secret"}, // accepted and ignored
		{in: "secret_colour-red", wantField: "colour"},
		{in: "secret_streaming-1_streaming-0", wantField: "streaming"},
		{in: "secret_isp-a.b", wantField: "isp"},
		{in: "secret_lifetime-0s", wantField: "ttl"},
		{in: "secret_country-us_country-de", wantField: "country"},
		{in: "secret_", pass: "secret_"},
		{in: "secret_country-us_", wantField: `""`},
	}
	for _, tt := range tests {
		pass, tg, err := subgate.ParseProxyPassword(tt.in)
		if tt.wantField != "" {
			if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != tt.wantField {
				t.Errorf("%q: err = %v, want EINVALID on %q", tt.in, err, tt.wantField)
			}
			continue
		}
		if err != nil || pass != tt.pass || tg != tt.want {
			t.Errorf("%q = %q, %+v, %v; want %q, %+v", tt.in, pass, tg, err, tt.pass, tt.want)
		}
	}
}

func TestParseProxyCredentialsMerges(t *testing.T) {
	u, p, tg, err := subgate.ParseProxyCredentials("alice-product-res-session-abc", "pw12_country-us_lifetime-5m")
	want := subgate.Target{Product: subgate.ProductResidential, Country: "us", Session: "abc", SessionTTL: 5 * time.Minute}
	if err != nil || u != "alice" || p != "pw12" || tg != want {
		t.Fatalf("got %q %q %+v %v", u, p, tg, err)
	}
	if _, _, _, err := subgate.ParseProxyCredentials("alice-country-us", "pw12_country-de"); subgate.ErrorField(err) != "country" {
		t.Fatalf("conflicting country: err = %v", err)
	}
	if _, _, _, err := subgate.ParseProxyCredentials("alice-ttl-10m", "pw12_lifetime-5m"); subgate.ErrorField(err) != "ttl" {
		t.Fatalf("conflicting ttl: err = %v", err)
	}
	if _, _, tg, err := subgate.ParseProxyCredentials("alice-country-uk", "pw12_country-gb"); err != nil || tg.Country != "gb" {
		t.Fatalf("uk and gb agree: %+v %v", tg, err)
	}
}

func TestMatchProxyPassword(t *testing.T) {
	for _, c := range []struct {
		stored, pass, settings string
		ok                     bool
	}{
		{"secret", "secret", "", true},
		{"secret", "secret_country-us_session-ab12", "country-us_session-ab12", true},
		{"pass_123", "pass_123_country-de", "country-de", true},
		{"Summer_Sale-2024", "Summer_Sale-2024", "", true},
		{"Summer_Sale-2024", "Summer_Sale-2024_city-berlin", "city-berlin", true},
		{"Summer_Sale-2024", "Summer", "", false},
		{"secret", "secretx", "", false},
		{"secret", "secret_", "", false},
		{"secret", "secret_123", "", false},
		{"secret", "Secret", "", false},
		{"", "", "", false},
	} {
		settings, ok := subgate.MatchProxyPassword(c.stored, c.pass)
		if settings != c.settings || ok != c.ok {
			t.Errorf("MatchProxyPassword(%q, %q) = %q, %v; want %q, %v", c.stored, c.pass, settings, ok, c.settings, c.ok)
		}
	}
}
