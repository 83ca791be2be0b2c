package gateway

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/subgate/subgate"
)

// ipIndex finds the sub-users whose AllowIPs hold an address. A change to
// one sub-user touches only that sub-user's prefixes, and a lookup costs
// one map probe per prefix length in use (at most 33 for IPv4, 129 for
// IPv6), however many rules there are: neither rebuilds nor scans.
//
// It is not safe for concurrent use; credCache guards it with its lock.
type ipIndex struct {
	rules map[netip.Prefix]*prefixRules // keyed by masked prefix
	v4    ipLengths
	v6    ipLengths
}

// prefixRules are the sub-users allow-listing one prefix.
type prefixRules struct {
	subUsers  []prefixRule    // by ascending id: subUsers[0] wins a tie
	resellers []resellerRules // distinct resellers of subUsers, with how many each
}

type prefixRule struct{ id, reseller int64 }

type resellerRules struct{ reseller, n int64 }

// ipLengths counts the prefixes of each length in the index of one address
// family, and lists the lengths in use from most to least specific.
type ipLengths struct {
	count [129]int
	inUse []int // descending
}

func newIPIndex() *ipIndex { return &ipIndex{rules: map[netip.Prefix]*prefixRules{}} }

// update replaces old's rules by cur's; either may be nil, and a deleted
// cur has none.
func (x *ipIndex) update(old, cur *subgate.SubUser) {
	if old != nil {
		for _, p := range old.AllowIPs {
			x.remove(p, old.ID, old.ResellerID)
		}
	}
	if cur != nil && cur.DeletedAt == nil {
		for _, p := range cur.AllowIPs {
			x.add(p, cur.ID, cur.ResellerID)
		}
	}
}

func (x *ipIndex) add(p netip.Prefix, id, reseller int64) {
	if !p.IsValid() {
		return
	}
	p = p.Masked()
	r := x.rules[p]
	if r == nil {
		r = &prefixRules{}
		x.rules[p] = r
		x.lengths(p).add(p.Bits())
	}
	i, found := slices.BinarySearchFunc(r.subUsers, id, byRuleID)
	if found {
		return // the same sub-user lists p twice
	}
	r.subUsers = slices.Insert(r.subUsers, i, prefixRule{id, reseller})
	for j := range r.resellers {
		if r.resellers[j].reseller == reseller {
			r.resellers[j].n++
			return
		}
	}
	r.resellers = append(r.resellers, resellerRules{reseller, 1})
}

func (x *ipIndex) remove(p netip.Prefix, id, reseller int64) {
	if !p.IsValid() {
		return
	}
	p = p.Masked()
	r := x.rules[p]
	if r == nil {
		return
	}
	i, found := slices.BinarySearchFunc(r.subUsers, id, byRuleID)
	if !found {
		return // already removed: the sub-user listed p twice
	}
	r.subUsers = slices.Delete(r.subUsers, i, i+1)
	for j := range r.resellers {
		if r.resellers[j].reseller == reseller {
			if r.resellers[j].n--; r.resellers[j].n == 0 {
				r.resellers = slices.Delete(r.resellers, j, j+1)
			}
			break
		}
	}
	if len(r.subUsers) == 0 {
		delete(x.rules, p)
		x.lengths(p).remove(p.Bits())
	}
}

func (x *ipIndex) lengths(p netip.Prefix) *ipLengths {
	if p.Addr().Is4() {
		return &x.v4
	}
	return &x.v6
}

// lookup returns the sub-user whose prefix holds ip most specifically (the
// lowest id among equally specific ones) and, when sub-users of more than
// one reseller allow ip, every such reseller, the winner's first. ip must
// already be unmapped.
func (x *ipIndex) lookup(ip netip.Addr) (id int64, found bool, resellers []int64) {
	if !ip.IsValid() || ip.Zone() != "" {
		return 0, false, nil // no prefix contains a zoned address
	}
	lengths := &x.v6
	if ip.Is4() {
		lengths = &x.v4
	}
	var first int64    // the winner's reseller
	var others []int64 // allocated only when resellers collide
	for _, bits := range lengths.inUse {
		p, err := ip.Prefix(bits)
		if err != nil {
			continue
		}
		r := x.rules[p]
		if r == nil {
			continue
		}
		if !found {
			id, found, first = r.subUsers[0].id, true, r.subUsers[0].reseller
		}
		for _, rr := range r.resellers {
			if rr.reseller != first && !slices.Contains(others, rr.reseller) {
				others = append(others, rr.reseller)
			}
		}
	}
	if others != nil {
		return id, found, append([]int64{first}, others...)
	}
	return id, found, nil
}

func byRuleID(r prefixRule, id int64) int {
	return cmp.Compare(r.id, id)
}

func (l *ipLengths) add(bits int) {
	if l.count[bits]++; l.count[bits] > 1 {
		return
	}
	i, _ := slices.BinarySearchFunc(l.inUse, bits, func(a, b int) int { return b - a })
	l.inUse = slices.Insert(l.inUse, i, bits)
}

func (l *ipLengths) remove(bits int) {
	if l.count[bits]--; l.count[bits] > 0 {
		return
	}
	if i, found := slices.BinarySearchFunc(l.inUse, bits, func(a, b int) int { return b - a }); found {
		l.inUse = slices.Delete(l.inUse, i, i+1)
	}
}
