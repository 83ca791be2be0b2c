package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// trafficStore is the store side of a combined update.
func (e *env) trafficStore() subgate.SubUserTrafficStore {
	e.t.Helper()
	st, ok := e.s.(subgate.SubUserTrafficStore)
	if !ok {
		e.t.Fatal("the store does not implement subgate.SubUserTrafficStore")
	}
	return st
}

// updateTrafficTests check UpdateSubUserTraffic: field changes and a traffic
// target applied together, with Transfer's rules, or not at all.
var updateTrafficTests = []test{
	{"GiveWithFields", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		got, err := e.trafficStore().UpdateSubUserTraffic(e.ctx, subgate.Scope(r.ID), u.ID,
			subgate.SubUserUpdate{Note: ptr("more")}, subgate.TrafficTarget{Product: res, Available: 300}, "k1", time.Now())
		e.must(err)
		if got.Note != "more" || got.Traffic[res].Available != 300 {
			t.Fatalf("got note %q traffic %+v", got.Note, got.Traffic[res])
		}
		if p := e.pool(r.ID, res); p != 700 {
			t.Fatalf("pool = %d, want 700", p)
		}
		l := e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerGive})
		if len(l) != 2 || l[0].Bytes != 200 || l[0].IdempotencyKey != "k1" {
			t.Fatalf("ledger gives: %+v", l)
		}
	}},
	{"TakeWithFields", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 500})
		got, err := e.trafficStore().UpdateSubUserTraffic(e.ctx, 0, u.ID,
			subgate.SubUserUpdate{Password: ptr("newpass1")}, subgate.TrafficTarget{Product: res, Available: 120}, "", time.Now())
		e.must(err)
		if got.Password != "newpass1" || got.Traffic[res].Available != 120 || e.pool(r.ID, res) != 880 {
			t.Fatalf("got %q %+v pool %d", got.Password, got.Traffic[res], e.pool(r.ID, res))
		}
		l := e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerTake})
		if len(l) != 1 || l[0].Bytes != 380 {
			t.Fatalf("ledger takes: %+v", l)
		}
	}},
	{"SameTargetOnlyFields", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		got, err := e.trafficStore().UpdateSubUserTraffic(e.ctx, 0, u.ID,
			subgate.SubUserUpdate{Note: ptr("same")}, subgate.TrafficTarget{Product: res, Available: 100}, "", time.Now())
		e.must(err)
		if got.Note != "same" || got.Seq <= u.Seq || len(e.ledger(subgate.LedgerFilter{SubUserID: u.ID})) != 1 {
			t.Fatalf("note %q seq %d (was %d), ledger %d", got.Note, got.Seq, u.Seq, len(e.ledger(subgate.LedgerFilter{SubUserID: u.ID})))
		}
	}},
	{"PoolShortChangesNothing", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		_, err := e.trafficStore().UpdateSubUserTraffic(e.ctx, 0, u.ID,
			subgate.SubUserUpdate{Password: ptr("temporary1"), Username: ptr(name("renamed"))},
			subgate.TrafficTarget{Product: res, Available: 1101}, "k", time.Now())
		wantCode(t, err, subgate.EINSUFFICIENT)
		e.unchanged(u, r.ID, 900)
		// The key was not used up by the failed request.
		_, err = e.trafficStore().UpdateSubUserTraffic(e.ctx, 0, u.ID, subgate.SubUserUpdate{},
			subgate.TrafficTarget{Product: res, Available: 1000}, "k", time.Now())
		e.must(err)
	}},
	{"TakeLimitedByLeases", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		if g := e.lease("n1", u.ID, res, 40, time.Hour, time.Now()); g != 40 {
			t.Fatalf("lease granted %d", g)
		}
		_, err := e.trafficStore().UpdateSubUserTraffic(e.ctx, 0, u.ID, subgate.SubUserUpdate{Password: ptr("temporary1")},
			subgate.TrafficTarget{Product: res, Available: 39}, "", time.Now())
		wantCode(t, err, subgate.EINSUFFICIENT)
		e.unchanged(u, r.ID, 900)
		got, err := e.trafficStore().UpdateSubUserTraffic(e.ctx, 0, u.ID, subgate.SubUserUpdate{},
			subgate.TrafficTarget{Product: res, Available: 40}, "", time.Now())
		e.must(err)
		if got.Traffic[res].Available != 40 || e.pool(r.ID, res) != 960 {
			t.Fatalf("take to the leased bytes: %+v pool %d", got.Traffic[res], e.pool(r.ID, res))
		}
	}},
	{"IdempotentTarget", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		st := e.trafficStore()
		for range 2 {
			got, err := st.UpdateSubUserTraffic(e.ctx, 0, u.ID, subgate.SubUserUpdate{}, subgate.TrafficTarget{Product: res, Available: 500}, "once", time.Now())
			e.must(err)
			if got.Traffic[res].Available != 500 {
				t.Fatalf("available %d", got.Traffic[res].Available)
			}
		}
		// Used up since: a retry with the same key moves nothing more.
		_, err := e.transfer(u, res, -200, "")
		e.must(err)
		got, err := st.UpdateSubUserTraffic(e.ctx, 0, u.ID, subgate.SubUserUpdate{}, subgate.TrafficTarget{Product: res, Available: 500}, "once", time.Now())
		e.must(err)
		if got.Traffic[res].Available != 300 || e.pool(r.ID, res) != 700 {
			t.Fatalf("replay moved traffic: %+v pool %d", got.Traffic[res], e.pool(r.ID, res))
		}
		_, err = st.UpdateSubUserTraffic(e.ctx, 0, u.ID, subgate.SubUserUpdate{}, subgate.TrafficTarget{Product: res, Available: 600}, "once", time.Now())
		wantCode(t, err, subgate.ECONFLICT)
	}},
	{"OtherResellerNotFound", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		other := e.reseller(nil)
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		_, err := e.trafficStore().UpdateSubUserTraffic(e.ctx, subgate.Scope(other.ID), u.ID, subgate.SubUserUpdate{},
			subgate.TrafficTarget{Product: res, Available: 0}, "", time.Now())
		wantCode(t, err, subgate.ENOTFOUND)
		_, err = e.svc.SetTraffic(e.ctx, subgate.Principal{ResellerID: other.ID}, u.Hash, res, 0, "")
		wantCode(t, err, subgate.ENOTFOUND)
		e.unchanged(u, r.ID, 900)
	}},
	{"ConcurrentSetTrafficConverges", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 10000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		p := subgate.Principal{ResellerID: r.ID}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				_, err := e.svc.SetTraffic(e.ctx, p, u.Hash, res, 300, "")
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			e.must(err)
		}
		e.traffic(u.ID, res, 300, 0)
		if got := e.pool(r.ID, res); got != 9700 {
			t.Fatalf("pool = %d after concurrent SetTraffic to 300, want 9700", got)
		}
	}},
	{"ServiceValidates", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		p := subgate.Principal{ResellerID: r.ID}
		_, err := e.svc.UpdateSubUserTraffic(e.ctx, p, u.Hash, subgate.SubUserUpdate{Username: ptr("bad-name")},
			subgate.TrafficTarget{Product: res, Available: 200}, "")
		wantField(t, err, "username")
		_, err = e.svc.UpdateSubUserTraffic(e.ctx, p, u.Hash, subgate.SubUserUpdate{}, subgate.TrafficTarget{Product: res, Available: -1}, "")
		wantField(t, err, "traffic")
		_, err = e.svc.UpdateSubUserTraffic(e.ctx, p, u.Hash, subgate.SubUserUpdate{Status: ptr(subgate.StatusBlocked)},
			subgate.TrafficTarget{Product: res, Available: 200}, "")
		wantField(t, err, "status")
		e.unchanged(u, r.ID, 900)
		got, err := e.svc.UpdateSubUserTraffic(e.ctx, p, u.Hash, subgate.SubUserUpdate{Note: ptr("ok")}, subgate.TrafficTarget{Product: res, Available: 200}, "")
		e.must(err)
		if got.Note != "ok" || got.Traffic[res].Available != 200 {
			t.Fatalf("service update: %q %+v", got.Note, got.Traffic[res])
		}
	}},
}

// unchanged fails unless the sub-user's fields, balance and pool are as
// they were before a refused request.
func (e *env) unchanged(before *subgate.SubUser, resellerID, pool int64) {
	e.t.Helper()
	got := e.get(before.ID)
	if got.Username != before.Username || got.Password != before.Password || got.Note != before.Note ||
		got.Traffic[res] != before.Traffic[res] || got.Seq != before.Seq {
		e.t.Fatalf("refused request changed the sub-user: %+v, was %+v", got, before)
	}
	if p := e.pool(resellerID, res); p != pool {
		e.t.Fatalf("refused request changed the pool: %d, want %d", p, pool)
	}
}
