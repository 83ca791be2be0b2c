package storetest

import (
	"cmp"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func (e *env) acquireSlots(node string, id, want, cap int64, now time.Time) int64 {
	e.t.Helper()
	n, err := e.s.AcquireSlots(e.ctx, subgate.SlotRequest{Node: node, SubUserID: id, Want: want, Cap: cap, TTL: time.Minute, Now: now})
	e.must(err)
	return n
}

func (e *env) syncSlots(node string, now time.Time, holds ...subgate.SlotHold) []subgate.SlotHold {
	e.t.Helper()
	out, err := e.s.SyncSlots(e.ctx, subgate.SlotSync{Node: node, Holds: holds, TTL: time.Minute, Now: now})
	e.must(err)
	slices.SortFunc(out, func(x, y subgate.SlotHold) int { return cmp.Compare(x.SubUserID, y.SubUserID) })
	return out
}

var slotTests = []test{
	{"HoldsOfAllNodesStopAtTheCap", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 2000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		v := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		for i, s := range []struct {
			node       string
			id, want   int64
			cap, grant int64
		}{
			{"a", u.ID, 2, 3, 2},
			{"b", u.ID, 2, 3, 1},
			{"b", u.ID, 1, 3, 0},
			{"a", v.ID, 1, 3, 1}, // another sub-user counts apart
			{"a", u.ID, 1, 0, 1}, // no cap: anything
		} {
			if got := e.acquireSlots(s.node, s.id, s.want, s.cap, t0); got != s.grant {
				t.Fatalf("request %d: granted %d, want %d", i, got, s.grant)
			}
		}
		// Node a shrinks its hold on u to 1: node b can take what it freed.
		got := e.syncSlots("a", t0, subgate.SlotHold{SubUserID: u.ID, Slots: 1}, subgate.SlotHold{SubUserID: v.ID, Slots: 5})
		if want := []subgate.SlotHold{{SubUserID: u.ID, Slots: 1}, {SubUserID: v.ID, Slots: 1}}; !slices.Equal(got, want) {
			t.Fatalf("synced holds %v, want %v (a sync never grows a hold)", got, want)
		}
		if g := e.acquireSlots("b", u.ID, 5, 3, t0); g != 1 {
			t.Fatalf("after a shrink: granted %d, want 1", g)
		}
		// A hold synced to 0 is gone.
		if got := e.syncSlots("a", t0, subgate.SlotHold{SubUserID: u.ID, Slots: 0}); len(got) != 0 {
			t.Fatalf("a hold synced to 0: %v", got)
		}
		if g := e.acquireSlots("c", u.ID, 5, 3, t0); g != 1 {
			t.Fatalf("after a release: granted %d, want 1", g)
		}
	}},
	{"UnrenewedHoldsExpire", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 2000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		if g := e.acquireSlots("dead", u.ID, 2, 2, t0); g != 2 {
			t.Fatalf("granted %d", g)
		}
		if g := e.acquireSlots("alive", u.ID, 2, 2, t0); g != 0 {
			t.Fatalf("granted %d past the cap", g)
		}
		if g := e.acquireSlots("alive", u.ID, 1, 3, t0); g != 1 {
			t.Fatalf("granted %d under a raised cap", g)
		}
		// Renewed within the TTL, the live node's hold outlasts the dead one's.
		if got := e.syncSlots("alive", t0.Add(50*time.Second), subgate.SlotHold{SubUserID: u.ID, Slots: 1}); len(got) != 1 {
			t.Fatalf("renewal: %v", got)
		}
		later := t0.Add(90 * time.Second)
		if g := e.acquireSlots("alive", u.ID, 5, 3, later); g != 2 {
			t.Fatalf("after the dead node's hold expired: granted %d, want 2", g)
		}
		// An expired hold is not renewed: the node is told it holds nothing.
		if got := e.syncSlots("dead", later, subgate.SlotHold{SubUserID: u.ID, Slots: 2}); len(got) != 0 {
			t.Fatalf("an expired hold was renewed: %v", got)
		}
	}},
	{"RacingRequestsNeverPassTheCap", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 2000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		const cap, racers = 3, 12
		var granted atomic.Int64
		parallel(t, racers, func(i int) {
			n, err := e.s.AcquireSlots(e.ctx, subgate.SlotRequest{Node: "node-" + itoa(i), SubUserID: u.ID, Want: 1, Cap: cap,
				TTL: time.Minute, Now: t0})
			if err != nil {
				t.Error(err)
				return
			}
			granted.Add(n)
		})
		if granted.Load() != cap {
			t.Fatalf("%d racing nodes were granted %d slots, want exactly %d", racers, granted.Load(), cap)
		}
	}},
}
