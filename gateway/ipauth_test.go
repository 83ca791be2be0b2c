package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"testing"

	"github.com/subgate/subgate"
)

// A client IP allow-listed by sub-users of two resellers authenticates by
// password only: the narrower prefix of reseller B must not take over the
// clients of reseller A.
func TestIPAuthRefusedWhenResellersOverlap(t *testing.T) {
	e := newEnv(t)
	alice := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) {
		c.AllowIPs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/16")}
	})
	// Without an overlap, IP authentication works.
	c, bad := e.connect("", "", e.origin.addr)
	if bad != nil {
		t.Fatalf("allow-listed IP refused: %d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
	}
	c.Close()

	ctx := context.Background()
	other, err := e.svc.CreateReseller(ctx, admin, subgate.ResellerCreate{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreditPool(ctx, admin, other.ID, subgate.ProductAny, gb, ""); err != nil {
		t.Fatal(err)
	}
	mallory, err := e.svc.CreateSubUser(ctx, admin, other.ID, subgate.SubUserCreate{
		Username: "mallory", Password: testPassword, Traffic: map[subgate.Product]int64{subgate.ProductAny: gb},
		AllowIPs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, patience, "IP authentication refused", func() bool {
		c, bad := e.connect("", "", e.origin.addr)
		if c != nil {
			c.Close()
		}
		return bad != nil
	})
	_, bad = e.connect("", "", e.origin.addr)
	if bad.StatusCode != http.StatusProxyAuthRequired || bad.Header.Get("X-Subgate-Error") != subgate.ReasonAuth {
		t.Fatalf("overlapping allow-lists: %d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
	}
	// A password still works, and nothing was charged to mallory.
	c, bad = e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("alice with a password: %s", bad.Header.Get("X-Subgate-Error"))
	}
	resp, _ := getOver(t, c, e.origin.addr, "/bytes?n=1000")
	io.Copy(io.Discard, resp.Body)
	c.Close()
	waitFor(t, patience, "alice's usage", func() bool { return e.user(alice.ID).TotalUsed() >= 1000 })
	if n := e.user(mallory.ID).TotalUsed(); n != 0 {
		t.Fatalf("mallory was charged %d bytes", n)
	}
}
