//go:build unix

package gateway_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/subgate/subgate"
)

// BenchmarkNewTunnelCapped compares opening a tunnel for a sub-user without
// caps with one under max_concurrency and ip_usage_cap, whose slots and
// egress keys are held in the store: after the first tunnel the capped one
// costs a store round trip only when a sync has shrunk its hold meanwhile.
//
//	go test -run '^$' -bench NewTunnelCapped -benchtime 2s ./gateway
func BenchmarkNewTunnelCapped(b *testing.B) {
	e, o := benchEnv(b)
	e.createUser("capped", map[subgate.Product]int64{subgate.ProductAny: 4 * gb}, func(c *subgate.SubUserCreate) {
		c.Limits.MaxConcurrency = 64
		c.Limits.IPUsageCap = 2
	})
	buf := make([]byte, 4096)
	for _, user := range []string{"bench", "capped"} {
		b.Run(user, func(b *testing.B) {
			for b.Loop() {
				c, bad := connectVia(b, e.gw.ProxyAddr().String(), user, testPassword, o.addr)
				if bad != nil {
					msg, _ := io.ReadAll(bad.Body)
					b.Fatal(fmt.Errorf("CONNECT refused: %s: %s", bad.Header.Get("X-Subgate-Error"), msg))
				}
				if err := download(c, 100, buf); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
