package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

var ledgerTests = []test{
	{"FilterAndCursor", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		other := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		v := e.subUser(r.ID, nil)
		for i := range 7 {
			_, err := e.transfer(v, res, int64(i+1), "")
			e.must(err)
		}
		_, err := e.transfer(u, res, -10, "")
		e.must(err)
		e.subUser(other.ID, map[subgate.Product]int64{res: 1})

		all := e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID)})
		if len(all) != 1+1+7+1 { // credit, initial give, 7 gives, take
			t.Fatalf("reseller ledger: %s", fmtLedger(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i-1].ID <= all[i].ID {
				t.Fatalf("ledger not newest first: %s", fmtLedger(all))
			}
		}
		for _, x := range all {
			if x.ResellerID != r.ID {
				t.Fatalf("another reseller's entry: %+v", x)
			}
		}
		if n := len(e.ledger(subgate.LedgerFilter{})); n != len(all)+2 {
			t.Fatalf("admin ledger has %d entries, want %d", n, len(all)+2)
		}
		if l := e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID), SubUserID: u.ID}); len(l) != 2 {
			t.Fatalf("sub-user filter: %s", fmtLedger(l))
		}
		if l := e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID), Kind: subgate.LedgerTake}); len(l) != 1 || l[0].Bytes != 10 {
			t.Fatalf("kind filter: %s", fmtLedger(l))
		}
		if l := e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID), Product: res}); len(l) != len(all) {
			t.Fatalf("product filter on the only product: %s", fmtLedger(l))
		}
		if l := e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID), Product: subgate.ProductDatacenter}); len(l) != 0 {
			t.Fatalf("product filter on an unused product: %s", fmtLedger(l))
		}
		if l := e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(other.ID), SubUserID: u.ID}); len(l) != 0 {
			t.Fatalf("another reseller filtering on my sub-user: %s", fmtLedger(l))
		}
		var paged []*subgate.LedgerEntry
		f := subgate.LedgerFilter{Scope: subgate.Scope(r.ID), Limit: 3}
		for range 10 {
			page := e.ledger(f)
			paged = append(paged, page...)
			if len(page) < f.Limit {
				break
			}
			f.Before = page[len(page)-1].ID
		}
		if fmtLedger(paged) != fmtLedger(all) {
			t.Fatalf("cursor pages %s\nwant %s", fmtLedger(paged), fmtLedger(all))
		}
	}},
}

var changeTests = []test{
	{"SeqOrderAndDeletes", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		a := e.subUser(r.ID, nil)
		b := e.subUser(r.ID, nil)
		c := e.subUser(r.ID, nil)
		changes, err := e.s.SubUsersChanged(e.ctx, 0, 100)
		e.must(err)
		if fmt.Sprint(ids(changes)) != fmt.Sprint([]int64{a.ID, b.ID, c.ID}) {
			t.Fatalf("changes = %v", ids(changes))
		}
		mark := changes[len(changes)-1].Seq
		_, err = e.transfer(a, res, 10, "")
		e.must(err)
		e.must(e.s.DeleteSubUser(e.ctx, 0, b.ID, time.Now()))
		// Usage does not bump Seq.
		now := time.Now()
		e.flush("n", now, []subgate.UsageItem{use(a.ID, res, now, 1)}, nil)
		changes, err = e.s.SubUsersChanged(e.ctx, mark, 100)
		e.must(err)
		if fmt.Sprint(ids(changes)) != fmt.Sprint([]int64{a.ID, b.ID}) {
			t.Fatalf("changes after %d = %v, want a then b", mark, ids(changes))
		}
		if changes[1].DeletedAt == nil || changes[0].DeletedAt != nil {
			t.Fatal("deleted flag wrong in change feed")
		}
		if changes[0].Password != a.Password || changes[0].Username != a.Username {
			t.Fatal("change feed rows are incomplete")
		}
		limited, err := e.s.SubUsersChanged(e.ctx, 0, 2)
		e.must(err)
		if fmt.Sprint(ids(limited)) != fmt.Sprint([]int64{c.ID, a.ID}) {
			t.Fatalf("limited feed = %v, want c then a", ids(limited))
		}
		for i := 1; i < len(limited); i++ {
			if limited[i].Seq <= limited[i-1].Seq {
				t.Fatal("feed not in Seq order")
			}
		}
	}},
	{"NoCreateMissedUnderConcurrentWriters", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		CheckNoCreateMissed(t, e.s, r.ID, 8, 25)
	}},
	{"NothingMissedUnderConcurrentWrites", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1_000_000})
		const users, writes = 6, 9
		var list []*subgate.SubUser
		for range users {
			list = append(list, e.subUser(r.ID, nil))
		}
		ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
		defer cancel()
		seen := map[int64]string{} // the note the reader last saw per sub-user
		var after int64
		poll := func() {
			changes, err := e.s.SubUsersChanged(ctx, after, 5)
			e.must(err)
			for _, c := range changes {
				if c.Seq <= after {
					t.Errorf("Seq %d not above %d", c.Seq, after)
				}
				after = c.Seq
				seen[c.ID] = c.Note
			}
		}
		var wg sync.WaitGroup
		for i, u := range list {
			wg.Go(func() {
				for w := range writes {
					note := fmt.Sprintf("u%d-w%d", i, w)
					if _, err := e.s.UpdateSubUser(ctx, 0, u.ID, subgate.SubUserUpdate{Note: &note}, time.Now()); err != nil {
						t.Error(err)
						return
					}
					if w%3 == 0 {
						if _, err := e.transfer(u, res, 1, ""); err != nil {
							t.Error(err)
							return
						}
					}
				}
			})
		}
		pollWhileWriting(t, ctx, &wg, poll, func() int64 { return after }, users*writes*2)
		for i, u := range list {
			if want := fmt.Sprintf("u%d-w%d", i, writes-1); seen[u.ID] != want {
				t.Fatalf("reader's view of sub-user %d is %q, want %q: a change was missed", u.ID, seen[u.ID], want)
			}
		}
	}},
}

// pollWhileWriting polls the change feed while the writers of wg run, then
// drains it a page at a time (at most pages polls) until a poll brings
// nothing new; at reports how far the reader has read.
func pollWhileWriting(t *testing.T, ctx context.Context, wg *sync.WaitGroup, poll func(), at func() int64, pages int) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for polling := true; polling; {
		select {
		case <-done:
			polling = false
		case <-ctx.Done():
			t.Fatal("writers did not finish in time")
		default:
			poll()
			time.Sleep(2 * time.Millisecond) // leave the writers room on small machines
		}
	}
	for range pages {
		before := at()
		if poll(); at() == before {
			break
		}
	}
}
