package storetest

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// changeStartTests cover what a gateway reads at start instead of every
// sub-user: where to follow the changes from, and the allow-listed ones.
var changeStartTests = []test{
	{"SeqFollowsFromLatest", func(t *testing.T, e *env) {
		seq, err := e.s.SubUsersSeq(e.ctx)
		e.must(err)
		if seq != 0 {
			t.Fatalf("empty store: SubUsersSeq = %d, want 0", seq)
		}
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		e.subUser(r.ID, nil)
		b := e.subUser(r.ID, nil)
		seq, err = e.s.SubUsersSeq(e.ctx)
		e.must(err)
		if seq != e.get(b.ID).Seq {
			t.Fatalf("SubUsersSeq = %d, want the latest change's %d", seq, e.get(b.ID).Seq)
		}
		changes, err := e.s.SubUsersChanged(e.ctx, seq, 100)
		e.must(err)
		if len(changes) != 0 {
			t.Fatalf("changes after SubUsersSeq = %v, want none", ids(changes))
		}
		c := e.subUser(r.ID, nil)
		changes, err = e.s.SubUsersChanged(e.ctx, seq, 100)
		e.must(err)
		if fmt.Sprint(ids(changes)) != fmt.Sprint([]int64{c.ID}) {
			t.Fatalf("changes after SubUsersSeq = %v, want the new sub-user %d", ids(changes), c.ID)
		}
	}},
	{"AllowingIPs", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		nets := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		var allowing []int64
		for i := range 5 {
			u := e.subUser(r.ID, nil)
			if i%2 == 0 {
				_, err := e.s.UpdateSubUser(e.ctx, 0, u.ID, subgate.SubUserUpdate{AllowIPs: &nets}, time.Now())
				e.must(err)
				allowing = append(allowing, u.ID)
			}
		}
		// Neither a deleted nor a cleared allow-list is listed.
		e.must(e.s.DeleteSubUser(e.ctx, 0, allowing[2], time.Now()))
		_, err := e.s.UpdateSubUser(e.ctx, 0, allowing[1], subgate.SubUserUpdate{AllowIPs: &[]netip.Prefix{}}, time.Now())
		e.must(err)
		e.subUser(r.ID, nil) // never allow-listed
		got, err := e.s.SubUsersAllowingIPs(e.ctx, 0, 100)
		e.must(err)
		if fmt.Sprint(ids(got)) != fmt.Sprint([]int64{allowing[0]}) {
			t.Fatalf("allowing = %v, want %v", ids(got), allowing[:1])
		}
		if fmt.Sprint(got[0].AllowIPs) != fmt.Sprint(nets) || got[0].Username == "" || got[0].Password == "" || got[0].Seq == 0 {
			t.Fatalf("allow-listed row incomplete: %+v", got[0])
		}
		// Paged by id.
		more := e.subUser(r.ID, nil)
		_, err = e.s.UpdateSubUser(e.ctx, 0, more.ID, subgate.SubUserUpdate{AllowIPs: &nets}, time.Now())
		e.must(err)
		page, err := e.s.SubUsersAllowingIPs(e.ctx, 0, 1)
		e.must(err)
		next, err := e.s.SubUsersAllowingIPs(e.ctx, page[0].ID, 1)
		e.must(err)
		if fmt.Sprint(ids(append(page, next...))) != fmt.Sprint([]int64{allowing[0], more.ID}) {
			t.Fatalf("pages = %v then %v", ids(page), ids(next))
		}
	}},
}
