package loginlimit

import (
	"net/netip"
	"strconv"
	"testing"
)

// A successful login's cost in the limiter: every proxy login pays it.
func BenchmarkSuccessfulLogin(b *testing.B) {
	l := New()
	addrs := make([]netip.Addr, 256)
	names := make([]string, 256)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
		names[i] = "user" + strconv.Itoa(i)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a, ok := l.Begin(addrs[i%256], names[i%256])
			if !ok {
				b.Fatal("a successful login was limited")
			}
			a.Done(false)
			i++
		}
	})
}
