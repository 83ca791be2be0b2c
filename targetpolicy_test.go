package subgate_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/subgate/subgate"
)

func TestPublicAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2001:4860:4860::8888": true, "100.128.0.1": true,
		"127.0.0.1": false, "127.1.2.3": false, "::1": false, "10.0.0.1": false, "172.16.0.1": false,
		"192.168.1.1": false, "169.254.169.254": false, "fe80::1": false, "fd00::1": false,
		"100.64.0.1": false, "100.127.255.255": false, "0.0.0.0": false, "0.1.2.3": false, "::": false,
		"224.0.0.1": false, "ff02::1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
		"255.255.255.255": false,
	} {
		if got := subgate.PublicAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("PublicAddr(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestRefusePrivateTargets(t *testing.T) {
	if err := subgate.RefusePrivateTargets("tcp4", "8.8.8.8:53", nil); err != nil {
		t.Fatalf("public target refused: %v", err)
	}
	for _, a := range []string{"127.0.0.1:80", "[::1]:80", "10.0.0.1:80", "nonsense"} {
		var r *subgate.Refusal
		if err := subgate.RefusePrivateTargets("tcp", a, nil); !errors.As(err, &r) || r.Code != subgate.ReasonTargetNotAllowed {
			t.Errorf("%s: %v", a, err)
		}
	}
}
