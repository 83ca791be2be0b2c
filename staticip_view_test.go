package subgate_test

import (
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

func TestStaticIPPublicView(t *testing.T) {
	for _, tc := range []struct{ upstream, admin, reseller string }{
		{"", "", ""},
		{"10.0.0.1:8080:user:pa:ss", "10.0.0.1:8080:user:" + subgate.RedactedPassword, "http://10.0.0.1:8080"},
		{"SOCKS5://[2001:db8::2]:1080:u:p", "SOCKS5://[2001:db8::2]:1080:u:" + subgate.RedactedPassword, "socks5://[2001:db8::2]:1080"},
		{"http://h.example:3128", "http://h.example:3128", "http://h.example:3128"},
	} {
		ip := subgate.StaticIP{ID: 7, Address: "127.0.0.9", Upstream: tc.upstream, Country: "us"}
		a, r := ip.PublicView(true), ip.PublicView(false)
		if a.Upstream != tc.admin || r.Upstream != tc.reseller {
			t.Errorf("%q: admin sees %q, reseller %q; want %q, %q", tc.upstream, a.Upstream, r.Upstream, tc.admin, tc.reseller)
		}
		if a.ID != 7 || r.Address != "127.0.0.9" || r.Country != "us" {
			t.Errorf("%q: other fields lost: %+v", tc.upstream, r)
		}
		if ip.Upstream != tc.upstream {
			t.Errorf("PublicView changed the entry itself: %q", ip.Upstream)
		}
		// A view of a view is the same view (the API renders what the
		// service already reduced).
		if again := r.PublicView(false); again.Upstream != r.Upstream {
			t.Errorf("%q: reseller view not stable: %q", tc.upstream, again.Upstream)
		}
		if strings.Contains(r.Upstream, "user") || strings.Contains(a.Upstream, "pa:ss") {
			t.Errorf("%q: credentials leak", tc.upstream)
		}
	}
}
