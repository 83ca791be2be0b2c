//go:build unix

package gateway_test

import (
	"testing"

	"github.com/subgate/subgate"
)

// BenchmarkSequentialTunnelAtCap opens, uses and closes one tunnel after
// another for a sub-user without caps and for one at max_concurrency 1,
// whose next tunnel may arrive before the last is torn down and then waits
// for that teardown.
//
//	go test -run '^$' -bench SequentialTunnelAtCap -benchtime 2s ./gateway
func BenchmarkSequentialTunnelAtCap(b *testing.B) {
	e, o := benchEnv(b)
	e.createUser("single", map[subgate.Product]int64{subgate.ProductAny: 4 * gb}, func(c *subgate.SubUserCreate) {
		c.Limits.MaxConcurrency = 1
	})
	buf := make([]byte, 4096)
	for _, user := range []string{"bench", "single"} {
		b.Run(user, func(b *testing.B) {
			for b.Loop() {
				c, bad := connectVia(b, e.gw.ProxyAddr().String(), user, testPassword, o.addr)
				if bad != nil {
					b.Fatalf("CONNECT refused: %s", bad.Header.Get("X-Subgate-Error"))
				}
				if err := download(c, 100, buf); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
