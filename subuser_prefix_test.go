package subgate_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func TestAllowIPsRefusesBroadPrefixes(t *testing.T) {
	tests := []struct {
		prefix string
		field  string // "" when accepted
	}{
		{"203.0.113.7/32", ""},
		{"10.1.0.0/16", ""},
		{"10.0.0.0/15", "allow_ips[1]"},
		{"0.0.0.0/0", "allow_ips[1]"},
		{"2001:db8::/32", ""},
		{"2001:db8::1/128", ""},
		{"2001::/31", "allow_ips[1]"},
		{"::/0", "allow_ips[1]"},
	}
	for _, tt := range tests {
		ps := []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix(tt.prefix)}
		c := subgate.SubUserCreate{Username: "alice", AllowIPs: ps}
		err := c.Validate(time.Now())
		u := subgate.SubUserUpdate{AllowIPs: &ps}
		uerr := u.Validate()
		if tt.field == "" {
			if err != nil || uerr != nil {
				t.Errorf("%s refused: %v / %v", tt.prefix, err, uerr)
			}
			continue
		}
		for _, err := range []error{err, uerr} {
			var e *subgate.Error
			if !errors.As(err, &e) || e.Field != tt.field || !strings.Contains(e.Message, "too broad") {
				t.Errorf("%s: got %v, want %s too broad", tt.prefix, err, tt.field)
			}
		}
	}
}

func TestAllowIPsRefusesIPv4MappedPrefixes(t *testing.T) {
	for prefix, suggest := range map[string]string{
		"::ffff:0.0.0.0/96":      "write 0.0.0.0/0 instead",
		"::ffff:203.0.113.0/120": "write 203.0.113.0/24 instead",
		"::ffff:203.0.113.7/128": "write 203.0.113.7/32 instead",
		"::ffff:203.0.113.7/80":  "write IPv4 prefixes in IPv4 form",
	} {
		ps := []netip.Prefix{netip.MustParsePrefix(prefix)}
		c := subgate.SubUserCreate{Username: "alice", AllowIPs: ps}
		u := subgate.SubUserUpdate{AllowIPs: &ps}
		for _, err := range []error{c.Validate(time.Now()), u.Validate()} {
			var e *subgate.Error
			if !errors.As(err, &e) || e.Field != "allow_ips[0]" || !strings.Contains(e.Message, "IPv4-mapped") ||
				!strings.Contains(e.Message, suggest) {
				t.Errorf("%s: got %v, want allow_ips[0] IPv4-mapped, %q", prefix, err, suggest)
			}
		}
	}
}
