package gateway

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/subgate/subgate"
)

// allowListedCache is a credential cache holding n sub-users of 10
// resellers, each allow-listing one IPv4 prefix of length 26 to 32, and
// every tenth also an IPv6 /64, all distinct.
func allowListedCache(n int) (*credCache, []*subgate.SubUser) {
	c := newCredCache(nil, func(old, cur *subgate.SubUser) {})
	users := make([]*subgate.SubUser, n)
	for i := range n {
		id := int64(i + 1)
		u := &subgate.SubUser{ID: id, ResellerID: id%10 + 1, Username: fmt.Sprintf("u%d", id), Seq: id}
		u.AllowIPs = []netip.Prefix{benchV4Prefix(i)}
		if i%10 == 0 {
			u.AllowIPs = append(u.AllowIPs, benchV6Prefix(i))
		}
		users[i] = u
	}
	c.size = n
	c.mu.Lock()
	for _, u := range users {
		c.allowLocked(u)
		c.putLocked(u)
	}
	c.seq = int64(n)
	c.mu.Unlock()
	runtime.GC() // collect the set-up's garbage before timing starts
	return c, users
}

// benchV4Prefix spreads prefixes over 10.0.0.0/8 without overlap: prefix i
// starts block i of 64 addresses and is 26 to 32 bits long, so it stays
// inside its block.
func benchV4Prefix(i int) netip.Prefix {
	n := uint32(i) * 64
	a := netip.AddrFrom4([4]byte{10 + byte(n>>24), byte(n >> 16), byte(n >> 8), byte(n)})
	return netip.PrefixFrom(a, 26+i%7) // /26../32: within the block
}

func benchV6Prefix(i int) netip.Prefix {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[4], b[5], b[6], b[7] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

// BenchmarkAllowListChange is one change to an allow-listing sub-user as
// the credential cache applies it (under its write lock), with n sub-users
// allow-listing: it must not grow with n.
func BenchmarkAllowListChange(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			c, users := allowListedCache(n)
			i := 0
			for b.Loop() {
				old := users[i%n]
				u := *old
				u.Seq = c.seq + 1
				u.AllowIPs = []netip.Prefix{old.AllowIPs[0], benchV6Prefix(n + i)}
				c.apply([]*subgate.SubUser{&u})
				users[i%n] = &u
				i++
			}
		})
	}
}

// BenchmarkIPLogin is the lookup of an IP-only login, half of them from an
// allow-listed address and half from none, with n sub-users allow-listing.
func BenchmarkIPLogin(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			c, users := allowListedCache(n)
			i := 0
			for b.Loop() {
				ip := users[i%n].AllowIPs[0].Addr()
				if i%2 == 1 {
					ip = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
				}
				u, _, _ := c.byIP(ip)
				if i%2 == 0 && u != users[i%n] {
					b.Fatalf("%s: got %v, want sub-user %d", ip, u, users[i%n].ID)
				}
				i++
			}
		})
	}
}
