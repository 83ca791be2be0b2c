package gateway_test

import (
	"io"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// The dialer is told the product the connection is charged on, so a router
// whose default product changed after the gateway started still routes the
// way the gateway bills.
func TestDialRequestNamesTheChargedProduct(t *testing.T) {
	d := &recordingDialer{}
	e := newEnv(t, func(c *gateway.Config) {
		c.Dialer = d
		c.DefaultProduct = subgate.ProductResidential
	})
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	for _, tc := range []struct {
		user string
		want subgate.Product
	}{
		{"alice", subgate.ProductResidential},
		{"alice-product-dc", subgate.ProductDatacenter},
	} {
		c, bad := e.connect(tc.user, testPassword, e.origin.addr)
		if bad != nil {
			t.Fatalf("%s refused: %s", tc.user, bad.Header.Get("X-Subgate-Error"))
		}
		c.Close()
		if got := d.last().Target.Product; got != tc.want {
			t.Fatalf("CONNECT as %s: dialer asked for product %q, want %q", tc.user, got, tc.want)
		}
		resp, err := e.httpClient(tc.user, testPassword).Get("http://" + e.origin.addr + "/bytes?n=10")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := d.last().Target.Product; got != tc.want {
			t.Fatalf("HTTP as %s: dialer asked for product %q, want %q", tc.user, got, tc.want)
		}
	}
}
