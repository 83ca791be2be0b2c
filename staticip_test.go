package subgate_test

import (
	"testing"

	"github.com/subgate/subgate"
)

func TestStaticIPValidate(t *testing.T) {
	ok := []subgate.StaticIP{
		{Address: "127.0.0.9", Country: "US", AccessPoint: "NYC"},
		{Address: "2001:db8::1", Country: "de"},
		{Upstream: "10.0.0.1:8080:user:pass", Country: "fr"},
		{Upstream: "socks5://[2001:db8::2]:1080:u:p", Country: "fr", AccessPoint: "par-1"},
	}
	for _, ip := range ok {
		if err := ip.Validate("ip"); err != nil {
			t.Errorf("%+v: %v", ip, err)
		}
	}
	if ip := ok[0]; ip.Validate("ip") != nil || ip.Country != "us" {
		t.Errorf("country not lower-cased: %q", ip.Country)
	}
	for _, tc := range []struct {
		ip    subgate.StaticIP
		field string
	}{
		{subgate.StaticIP{Country: "us"}, "ip"},
		{subgate.StaticIP{Address: "127.0.0.9", Upstream: "h:1:u:p", Country: "us"}, "ip"},
		{subgate.StaticIP{Address: "nope", Country: "us"}, "ip.address"},
		{subgate.StaticIP{Upstream: "h:0:u:p", Country: "us"}, "ip.upstream"},
		{subgate.StaticIP{Upstream: "ftp://h:1:u:p", Country: "us"}, "ip.upstream"},
		{subgate.StaticIP{Upstream: "h:1:user-without-password", Country: "us"}, "ip.upstream"},
		{subgate.StaticIP{Upstream: "[::1:80:u:p", Country: "us"}, "ip.upstream"},
		{subgate.StaticIP{Address: "127.0.0.9", Country: "usa"}, "ip.country"},
		{subgate.StaticIP{Address: "127.0.0.9", Country: "us", AccessPoint: "new york"}, "ip.access_point"},
	} {
		err := tc.ip.Validate("ip")
		if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != tc.field {
			t.Errorf("%+v: %v, want EINVALID on %s", tc.ip, err, tc.field)
		}
	}
}

func TestStaticIPAllocationValidate(t *testing.T) {
	a := subgate.StaticIPAllocation{Country: " US ", AccessPoint: "NYC", Count: 3}
	if err := a.Validate(); err != nil || a.Country != "us" || a.AccessPoint != "nyc" {
		t.Fatalf("%+v: %v", a, err)
	}
	for _, tc := range []struct {
		a     subgate.StaticIPAllocation
		field string
	}{
		{subgate.StaticIPAllocation{Country: "us"}, "ips"},
		{subgate.StaticIPAllocation{Country: "us", Count: subgate.MaxStaticIPsPerAllocation + 1}, "ips"},
		{subgate.StaticIPAllocation{Count: 1}, "country_code"},
		{subgate.StaticIPAllocation{Country: "us", AccessPoint: "a b", Count: 1}, "access_point"},
	} {
		if err := tc.a.Validate(); subgate.ErrorField(err) != tc.field {
			t.Errorf("%+v: %v, want an error on %s", tc.a, err, tc.field)
		}
	}
}
