package gateway

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func allowing(id, reseller int64, prefixes ...string) *subgate.SubUser {
	u := &subgate.SubUser{ID: id, ResellerID: reseller}
	for _, p := range prefixes {
		u.AllowIPs = append(u.AllowIPs, netip.MustParsePrefix(p))
	}
	return u
}

// expectIP checks what the index answers for addr: the winning id (0 for
// none) and, when several resellers allow it, which.
func expectIP(t *testing.T, x *ipIndex, addr string, wantID int64, wantResellers ...int64) {
	t.Helper()
	id, found, resellers := x.lookup(netip.MustParseAddr(addr).Unmap())
	if !found {
		id = 0
	}
	if id != wantID && len(wantResellers) == 0 || !sameResellers(resellers, wantResellers) {
		t.Fatalf("%s: got id %d resellers %v, want id %d resellers %v", addr, id, resellers, wantID, wantResellers)
	}
}

func TestIPIndexAddRemoveUpdate(t *testing.T) {
	x := newIPIndex()
	a := allowing(1, 10, "192.0.2.0/24")
	x.update(nil, a)
	expectIP(t, x, "192.0.2.7", 1)
	expectIP(t, x, "::ffff:192.0.2.7", 1)
	expectIP(t, x, "192.0.3.7", 0)

	// An update moves the rule: the old prefix no longer answers.
	a2 := allowing(1, 10, "198.51.100.5/32")
	x.update(a, a2)
	expectIP(t, x, "192.0.2.7", 0)
	expectIP(t, x, "198.51.100.5", 1)
	expectIP(t, x, "198.51.100.6", 0)

	// Deletion removes every rule, and the index is empty again.
	gone := allowing(1, 10, "198.51.100.5/32")
	now := time.Now()
	gone.DeletedAt = &now
	x.update(a2, gone)
	expectIP(t, x, "198.51.100.5", 0)
	if len(x.rules) != 0 || len(x.v4.inUse) != 0 || len(x.v6.inUse) != 0 {
		t.Fatalf("index not empty after deletion: %d rules, lengths %v %v", len(x.rules), x.v4.inUse, x.v6.inUse)
	}
}

func TestIPIndexMostSpecificWins(t *testing.T) {
	x := newIPIndex()
	x.update(nil, allowing(5, 10, "10.0.0.0/8"))
	x.update(nil, allowing(3, 10, "10.1.0.0/16"))
	x.update(nil, allowing(4, 10, "10.1.2.0/24"))
	x.update(nil, allowing(2, 10, "10.1.2.0/24")) // equally specific: lowest id wins
	expectIP(t, x, "10.1.2.3", 2)
	expectIP(t, x, "10.1.3.3", 3)
	expectIP(t, x, "10.2.3.3", 5)
	x.update(allowing(2, 10, "10.1.2.0/24"), nil)
	expectIP(t, x, "10.1.2.3", 4)
	x.update(allowing(4, 10, "10.1.2.0/24"), nil)
	expectIP(t, x, "10.1.2.3", 3)
	if slices.Contains(x.v4.inUse, 24) {
		t.Fatalf("length 24 still in use: %v", x.v4.inUse)
	}
}

func TestIPIndexUnmaskedAndRepeatedPrefixes(t *testing.T) {
	x := newIPIndex()
	u := allowing(1, 10, "10.1.2.3/16", "10.1.0.0/16", "10.1.2.3/32")
	x.update(nil, u)
	expectIP(t, x, "10.1.200.1", 1)
	expectIP(t, x, "10.1.2.3", 1)
	x.update(u, nil)
	expectIP(t, x, "10.1.200.1", 0)
	if len(x.rules) != 0 || x.v4.count[16] != 0 || x.v4.count[32] != 0 {
		t.Fatalf("repeated prefixes left rules: %d, /16 %d, /32 %d", len(x.rules), x.v4.count[16], x.v4.count[32])
	}
}

func TestIPIndexIPv6(t *testing.T) {
	x := newIPIndex()
	x.update(nil, allowing(1, 10, "2001:db8::/32"))
	x.update(nil, allowing(2, 10, "2001:db8:1::/48", "2001:db8:1::42/128"))
	x.update(nil, allowing(3, 10, "::/0"))
	expectIP(t, x, "2001:db8:1::42", 2)
	expectIP(t, x, "2001:db8:1::43", 2)
	expectIP(t, x, "2001:db8:2::1", 1)
	expectIP(t, x, "2001:db9::1", 3)
	// An IPv6 prefix never holds an IPv4 address, mapped or not.
	expectIP(t, x, "192.0.2.1", 0)
	expectIP(t, x, "::ffff:192.0.2.1", 0)
	// Nor does any prefix hold a zoned address.
	expectIP(t, x, "fe80::1%eth0", 0)
	x.update(nil, allowing(4, 10, "0.0.0.0/0"))
	expectIP(t, x, "192.0.2.1", 4)
}

// Several resellers allowing the same address refuse it, whichever prefix
// each uses; one reseller's several sub-users do not.
func TestIPIndexSeveralResellers(t *testing.T) {
	x := newIPIndex()
	x.update(nil, allowing(1, 10, "203.0.113.0/24"))
	x.update(nil, allowing(2, 10, "203.0.113.9/32"))
	expectIP(t, x, "203.0.113.9", 2)
	mallory := allowing(3, 20, "203.0.113.9/32")
	x.update(nil, mallory)
	expectIP(t, x, "203.0.113.9", 0, 10, 20)
	expectIP(t, x, "203.0.113.8", 1)
	// The same prefix, two resellers.
	x.update(mallory, allowing(3, 20, "203.0.113.0/24"))
	expectIP(t, x, "203.0.113.9", 0, 10, 20)
	expectIP(t, x, "203.0.113.8", 0, 10, 20)
	x.update(allowing(3, 20, "203.0.113.0/24"), nil)
	expectIP(t, x, "203.0.113.8", 1)
	expectIP(t, x, "203.0.113.9", 2)
}

// The index answers exactly what scanning every rule answers.
func TestIPIndexMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randPrefix := func() netip.Prefix {
		if rng.IntN(4) == 0 {
			var b [16]byte
			b[0], b[1], b[2] = 0x20, 0x01, byte(rng.IntN(3))
			return netip.PrefixFrom(netip.AddrFrom16(b), 8+rng.IntN(121))
		}
		a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(3)), byte(rng.IntN(3)), byte(rng.IntN(4))})
		return netip.PrefixFrom(a, 8+rng.IntN(25))
	}
	users := map[int64]*subgate.SubUser{}
	x := newIPIndex()
	for range 3000 {
		id := int64(1 + rng.IntN(60))
		old := users[id]
		var cur *subgate.SubUser
		if rng.IntN(5) > 0 {
			cur = &subgate.SubUser{ID: id, ResellerID: int64(1 + rng.IntN(3))}
			if old != nil {
				cur.ResellerID = old.ResellerID
			}
			for range rng.IntN(3) {
				cur.AllowIPs = append(cur.AllowIPs, randPrefix())
			}
			users[id] = cur
		} else {
			delete(users, id)
		}
		x.update(old, cur)
		addr := randPrefix().Addr()
		wantID, wantResellers := scanAllowIPs(users, addr)
		id2, found, resellers := x.lookup(addr)
		if !found {
			id2 = 0
		}
		if id2 != wantID || !sameResellers(resellers, wantResellers) {
			t.Fatalf("%s: index %d %v, scan %d %v", addr, id2, resellers, wantID, wantResellers)
		}
	}
}

// sameResellers: the winner's reseller first, then the same set.
func sameResellers(a, b []int64) bool {
	if len(a) != len(b) || len(a) > 0 && a[0] != b[0] {
		return false
	}
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}

// scanAllowIPs is the linear search the index replaces: rules most
// specific first (lowest id on a tie), every matching rule's reseller.
func scanAllowIPs(users map[int64]*subgate.SubUser, ip netip.Addr) (id int64, resellers []int64) {
	type rule struct {
		p        netip.Prefix
		id, rsel int64
	}
	var rules []rule
	for _, u := range users {
		for _, p := range u.AllowIPs {
			rules = append(rules, rule{p.Masked(), u.ID, u.ResellerID})
		}
	}
	sort.Slice(rules, func(i, j int) bool {
		if rules[i].p.Bits() != rules[j].p.Bits() {
			return rules[i].p.Bits() > rules[j].p.Bits()
		}
		return rules[i].id < rules[j].id
	})
	for _, r := range rules {
		if !r.p.Contains(ip) {
			continue
		}
		if id == 0 {
			id = r.id
		}
		if !slices.Contains(resellers, r.rsel) {
			resellers = append(resellers, r.rsel)
		}
	}
	if len(resellers) < 2 {
		resellers = nil // the index names resellers only when they collide
	}
	return id, resellers
}
