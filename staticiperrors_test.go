package subgate_test

import (
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

func TestStaticIPStockedHidesPassword(t *testing.T) {
	err := subgate.StaticIPStocked(&subgate.StaticIP{Address: "203.0.113.7", Upstream: "10.0.0.1:8080:user:hunter2"})
	if subgate.ErrorCode(err) != subgate.ECONFLICT {
		t.Fatalf("code %q, want %q", subgate.ErrorCode(err), subgate.ECONFLICT)
	}
	if msg := err.Error(); strings.Contains(msg, "hunter2") || !strings.Contains(msg, "203.0.113.7") {
		t.Fatalf("message %q: want the address without the password", msg)
	}
}

func TestStaticIPAllocated(t *testing.T) {
	err := subgate.StaticIPAllocated(12)
	if subgate.ErrorCode(err) != subgate.ECONFLICT || !strings.Contains(err.Error(), "12") {
		t.Fatalf("got %v", err)
	}
}

func TestStaticIPAllocationInsufficient(t *testing.T) {
	for _, c := range []struct {
		a    subgate.StaticIPAllocation
		want string
	}{
		{subgate.StaticIPAllocation{Country: "de", Count: 5}, "only 2 free static IPs in de, 5 asked"},
		{subgate.StaticIPAllocation{Country: "de", AccessPoint: "fra", Count: 5}, "only 2 free static IPs in de/fra, 5 asked"},
	} {
		err := c.a.Insufficient(2)
		if subgate.ErrorCode(err) != subgate.EINSUFFICIENT || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
}
