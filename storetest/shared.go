package storetest

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// sharedUser creates an active shared sub-user with the given limits.
func (e *env) sharedUser(resellerID int64, l subgate.Limits) *subgate.SubUser {
	e.t.Helper()
	u := &subgate.SubUser{ResellerID: resellerID, Hash: subgate.NewHash(), Username: name("shared"),
		Password: subgate.NewProxyPassword(), Status: subgate.StatusActive, Funding: subgate.FundingShared, Limits: l}
	e.must(e.s.CreateSubUser(e.ctx, u, nil, ""))
	return u
}

func (e *env) switchFunding(u *subgate.SubUser, f subgate.Funding) *subgate.SubUser {
	e.t.Helper()
	out, err := e.s.UpdateSubUser(e.ctx, subgate.Scope(u.ResellerID), u.ID, subgate.SubUserUpdate{Funding: &f}, t0)
	e.must(err)
	return out
}

var sharedTests = []test{
	{"CreatedAndReadShared", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 5000})
		u := e.sharedUser(r.ID, subgate.Limits{UsageCap: 2000})
		got := e.get(u.ID)
		if got.Funding != subgate.FundingShared || got.Pool[res] != 5000 {
			t.Fatalf("read funding %q pool %v, want shared with the reseller's 5000", got.Funding, got.Pool)
		}
		if b := got.Budget(res, subgate.WindowUsage{}); b != 2000 {
			t.Fatalf("budget = %d, want the usage cap 2000 (pool 5000)", b)
		}
		if a := e.subUser(r.ID, nil); e.get(a.ID).Funding != subgate.FundingAllocated || e.get(a.ID).Pool != nil {
			t.Fatalf("default sub-user is %q with pool %v, want allocated without one", e.get(a.ID).Funding, e.get(a.ID).Pool)
		}
		page, err := e.s.SubUsers(e.ctx, subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Limit: 10, Sort: subgate.SortID})
		e.must(err)
		if page.Items[0].Funding != subgate.FundingShared || page.Items[0].Pool[res] != 5000 {
			t.Fatalf("listed %q pool %v", page.Items[0].Funding, page.Items[0].Pool)
		}
	}},
	{"LeasesShareThePool", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		a := e.sharedUser(r.ID, subgate.Limits{})
		b := e.sharedUser(r.ID, subgate.Limits{UsageCap: 300})
		c := e.sharedUser(r.ID, subgate.Limits{})
		steps := []struct {
			node      string
			id        int64
			want, got int64
		}{
			{"n1", a.ID, 400, 400},
			{"n2", b.ID, 400, 300}, // its cap
			{"n2", c.ID, 400, 300}, // what the pool has left unleased
			{"n1", c.ID, 1, 0},
			{"n1", a.ID, 1, 0},
		}
		for i, s := range steps {
			if g := e.lease(s.node, s.id, res, s.want, time.Minute, t0); g != s.got {
				t.Fatalf("step %d: lease = %d, want %d", i, g, s.got)
			}
		}
		// A lease that expires frees its bytes of the pool for everyone.
		if g := e.lease("n3", c.ID, res, 500, time.Minute, t0.Add(2*time.Minute)); g != 1000 && g != 500 {
			t.Fatalf("after every lease expired: %d", g)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"UsageChargesThePool", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000, dc: 50})
		u := e.sharedUser(r.ID, subgate.Limits{})
		if g := e.lease("n", u.ID, res, 600, time.Minute, t0); g != 600 {
			t.Fatalf("lease = %d", g)
		}
		e.flush("n", t0, []subgate.UsageItem{use(u.ID, res, t0, 450), use(u.ID, dc, t0, 80)},
			[]subgate.LeaseRelease{{SubUserID: u.ID, Product: res, Bytes: 150}})
		e.traffic(u.ID, res, 0, 450)
		e.traffic(u.ID, dc, 0, 50)
		if p := e.pool(r.ID, res); p != 550 {
			t.Fatalf("res pool = %d, want 550", p)
		}
		if p := e.pool(r.ID, dc); p != 0 {
			t.Fatalf("dc pool = %d, want 0", p)
		}
		kinds := map[subgate.LedgerKind]int64{}
		for _, l := range e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID), SubUserID: u.ID}) {
			kinds[l.Kind] += l.Bytes
		}
		if kinds[subgate.LedgerPoolUsage] != 500 || kinds[subgate.LedgerOverdraft] != 30 || kinds[subgate.LedgerUsage] != 0 {
			t.Fatalf("ledger %v, want 500 pool_usage and 30 overdraft", kinds)
		}
		if got := e.get(u.ID); got.TotalAvailable() != 0 || got.TotalUsed() != 500 {
			t.Fatalf("totals available %d used %d", got.TotalAvailable(), got.TotalUsed())
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"NoGiveOrTake", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.sharedUser(r.ID, subgate.Limits{})
		_, err := e.transfer(u, res, 100, "")
		wantCode(t, err, subgate.ECONFLICT)
		if err.Error() != subgate.NoOwnBalance().Error() {
			t.Fatalf("give said %q", err)
		}
		_, err = e.transfer(u, res, -100, "")
		wantCode(t, err, subgate.ECONFLICT)
		_, err = e.trafficStore().UpdateSubUserTraffic(e.ctx, subgate.Scope(r.ID), u.ID, subgate.SubUserUpdate{},
			subgate.TrafficTarget{Product: res, Available: 100}, "", t0)
		wantCode(t, err, subgate.ECONFLICT)
		if p := e.pool(r.ID, res); p != 1000 {
			t.Fatalf("pool = %d after refused moves", p)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"SwitchToSharedReturnsAvailable", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000, dc: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 400, dc: 100})
		e.flush("n", t0, []subgate.UsageItem{use(u.ID, res, t0, 100)}, nil)
		if g := e.lease("n", u.ID, res, 100, time.Minute, t0); g != 100 {
			t.Fatalf("lease = %d", g)
		}
		got := e.switchFunding(u, subgate.FundingShared)
		if got.Funding != subgate.FundingShared || got.TotalAvailable() != 0 || got.Traffic[res].Used != 100 {
			t.Fatalf("after switch: %q %+v", got.Funding, got.Traffic)
		}
		if p := e.pool(r.ID, res); p != 900 {
			t.Fatalf("res pool = %d, want 600 + 300 returned", p)
		}
		// The node's lease now holds bytes of the pool.
		other := e.sharedUser(r.ID, subgate.Limits{})
		if g := e.lease("m", other.ID, res, 10_000, time.Minute, t0); g != 800 {
			t.Fatalf("lease beside the switched one = %d, want 900 − 100 leased", g)
		}
		CheckInvariant(t, e.s, r.ID)
		back := e.switchFunding(got, subgate.FundingAllocated)
		if back.Funding != subgate.FundingAllocated || back.TotalAvailable() != 0 || back.Pool != nil {
			t.Fatalf("back to allocated: %q %+v pool %v", back.Funding, back.Traffic, back.Pool)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"SwitchWithTrafficIsRefused", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 400})
		shared := subgate.FundingShared
		_, err := e.trafficStore().UpdateSubUserTraffic(e.ctx, subgate.Scope(r.ID), u.ID, subgate.SubUserUpdate{Funding: &shared},
			subgate.TrafficTarget{Product: res, Available: 500}, "", t0)
		wantCode(t, err, subgate.EINVALID)
		if f := err.(*subgate.Error).Field; f != "traffic" {
			t.Fatalf("field %q, want traffic", f)
		}
		e.unchanged(u, r.ID, 600)
	}},
	{"PoolChangesWakeSharedSubUsers", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 100})
		e.subUser(r.ID, nil) // allocated: not woken
		u := e.sharedUser(r.ID, subgate.Limits{})
		seq := e.get(u.ID).Seq
		_, err := e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: 50})
		e.must(err)
		changed, err := e.s.SubUsersChanged(e.ctx, seq, 100)
		e.must(err)
		if len(changed) != 1 || changed[0].ID != u.ID || changed[0].Pool[res] != 150 {
			t.Fatalf("after a credit, changed %d sub-users (want the shared one with pool 150)", len(changed))
		}
		seq = changed[0].Seq
		e.flush("n", t0, []subgate.UsageItem{use(u.ID, res, t0, 150)}, nil)
		changed, err = e.s.SubUsersChanged(e.ctx, seq, 100)
		e.must(err)
		if len(changed) != 1 || changed[0].Pool[res] != 0 || changed[0].Check(res, t0, subgate.WindowUsage{}) == nil {
			t.Fatalf("a flush that emptied the pool changed %d sub-users, want the shared one refused", len(changed))
		}
		if r := changed[0].Check(res, t0, subgate.WindowUsage{}); r.Code != subgate.ReasonTrafficExhausted {
			t.Fatalf("refusal %v", r)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"SameRefusalWordsInEveryStore", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 300})
		e.lease("n", u.ID, res, 100, time.Minute, time.Now())
		_, err := e.transfer(u, res, -250, "")
		if want := subgate.CheckTake(res, 300, 100, 250); err == nil || err.Error() != want.Error() {
			t.Fatalf("take said %v, want %v", err, want)
		}
		_, err = e.transfer(u, res, 800, "")
		if err == nil || err.Error() != subgate.PoolShort(res).Error() {
			t.Fatalf("give said %v, want %v", err, subgate.PoolShort(res))
		}
	}},
	{"GivesLeaveSharedLeasesAlone", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		s := e.sharedUser(r.ID, subgate.Limits{})
		a := e.subUser(r.ID, nil)
		if g := e.lease("n", s.ID, res, 600, time.Minute, time.Now()); g != 600 {
			t.Fatalf("lease = %d", g)
		}
		_, err := e.transfer(a, res, 401, "")
		wantCode(t, err, subgate.EINSUFFICIENT)
		_, err = e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: -401})
		wantCode(t, err, subgate.EINSUFFICIENT)
		if _, err := e.transfer(a, res, 400, ""); err != nil {
			t.Fatal(err)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"MixedFundingKeepsInvariant", func(t *testing.T, e *env) { mixedFunding(t, e, 200) }},
}

// mixedFunding runs n concurrent gives, takes, mode switches and metered
// usage over allocated and shared sub-users, and checks every byte.
func mixedFunding(t *testing.T, e *env, n int) {
	r := e.reseller(map[subgate.Product]int64{res: 200_000, dc: 200_000})
	var users []*subgate.SubUser
	for i := range 6 {
		if i%2 == 0 {
			users = append(users, e.sharedUser(r.ID, subgate.Limits{}))
		} else {
			users = append(users, e.subUser(r.ID, map[subgate.Product]int64{res: 20_000, dc: 20_000}))
		}
	}
	flushed, applied := runConcurrently(t, e, n, func(ctx context.Context, i int, flushed, applied *atomic.Int64) error {
		return mixedFundingCall(ctx, e.s, i, users, flushed, applied)
	}, subgate.EINSUFFICIENT, subgate.ECONFLICT)
	CheckInvariant(t, e.s, r.ID)
	audit, err := e.s.Audit(e.ctx, r.ID)
	e.must(err)
	var used int64
	for _, l := range audit {
		used += l.Used
	}
	// A flush after a switch to allocated may find nothing to charge
	// (overdraft); every other byte flushed is used.
	if used > flushed || used == 0 {
		t.Fatalf("used %d bytes, nodes flushed %d", used, flushed)
	}
	if applied == 0 {
		t.Fatal("no transfer or switch succeeded: the test exercised nothing")
	}
}

func mixedFundingCall(ctx context.Context, s subgate.Store, i int, users []*subgate.SubUser, flushed, applied *atomic.Int64) error {
	rng := rand.New(rand.NewPCG(uint64(i), 11))
	u := users[rng.IntN(len(users))]
	p := []subgate.Product{res, dc}[rng.IntN(2)]
	switch i % 5 {
	case 0, 1:
		b := 1 + rng.Int64N(5000)
		if i%5 == 1 {
			b = -b
		}
		if _, err := s.Transfer(ctx, subgate.Transfer{Scope: subgate.Scope(u.ResellerID), SubUserID: u.ID, Product: p, Bytes: b}); err != nil {
			return err
		}
	case 2:
		f := []subgate.Funding{subgate.FundingAllocated, subgate.FundingShared}[rng.IntN(2)]
		if _, err := s.UpdateSubUser(ctx, subgate.Scope(u.ResellerID), u.ID, subgate.SubUserUpdate{Funding: &f}, time.Now()); err != nil {
			return err
		}
	default:
		return meterUsage(ctx, s, i, u, p, rng, flushed)
	}
	applied.Add(1)
	return nil
}
