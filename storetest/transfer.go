package storetest

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
)

var transferTests = []test{
	{"GiveAndTake", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000, dc: 50})
		u := e.subUser(r.ID, nil)
		got, err := e.transfer(u, res, 600, "")
		e.must(err)
		if got.Traffic[res].Available != 600 || got.Seq <= u.Seq {
			t.Fatalf("after give: %+v seq %d (was %d)", got.Traffic, got.Seq, u.Seq)
		}
		if e.pool(r.ID, res) != 400 {
			t.Fatalf("pool after give = %d", e.pool(r.ID, res))
		}
		seq := got.Seq
		got, err = e.transfer(u, res, -250, "")
		e.must(err)
		if got.Traffic[res].Available != 350 || e.pool(r.ID, res) != 650 || got.Seq <= seq {
			t.Fatalf("after take: %+v pool %d", got.Traffic, e.pool(r.ID, res))
		}
		l := e.ledger(subgate.LedgerFilter{SubUserID: u.ID})
		if len(l) != 2 || l[0].Kind != subgate.LedgerTake || l[0].Bytes != 250 || l[1].Kind != subgate.LedgerGive || l[1].Bytes != 600 {
			t.Fatalf("ledger = %s", fmtLedger(l))
		}
		if l[0].ResellerID != r.ID || l[0].SubUserID != u.ID || l[0].Product != res || l[0].CreatedAt.IsZero() {
			t.Fatalf("ledger entry = %+v", l[0])
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"Insufficient", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 100})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 60})
		_, err := e.transfer(u, res, 41, "")
		wantCode(t, err, subgate.EINSUFFICIENT)
		_, err = e.transfer(u, res, -61, "")
		wantCode(t, err, subgate.EINSUFFICIENT)
		_, err = e.transfer(u, dc, -1, "")
		wantCode(t, err, subgate.EINSUFFICIENT)
		e.traffic(u.ID, res, 60, 0)
		if e.pool(r.ID, res) != 40 {
			t.Fatal("a refused transfer moved the pool")
		}
		_, err = e.transfer(u, res, 40, "")
		e.must(err)
		_, err = e.transfer(u, res, -100, "")
		e.must(err)
		e.traffic(u.ID, res, 0, 0)
		CheckInvariant(t, e.s, r.ID)
	}},
	{"TakeLeavesLeasedBytes", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		now := time.Now()
		if g := e.lease("node-a", u.ID, res, 500, time.Minute, now); g != 500 {
			t.Fatalf("lease = %d", g)
		}
		if g := e.lease("node-b", u.ID, res, 200, time.Minute, now); g != 200 {
			t.Fatalf("lease = %d", g)
		}
		_, err := e.transfer(u, res, -301, "")
		wantCode(t, err, subgate.EINSUFFICIENT)
		_, err = e.transfer(u, res, -300, "")
		e.must(err)
		e.traffic(u.ID, res, 700, 0)
		// An expired lease no longer protects its bytes.
		expired := e.reseller(map[subgate.Product]int64{res: 100})
		v := e.subUser(expired.ID, map[subgate.Product]int64{res: 100})
		e.lease("node-a", v.ID, res, 100, time.Millisecond, now.Add(-time.Minute))
		_, err = e.transfer(v, res, -100, "")
		e.must(err)
		CheckInvariant(t, e.s, r.ID)
		CheckInvariant(t, e.s, expired.ID)
	}},
	{"IdempotencyKey", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000, dc: 1000})
		u := e.subUser(r.ID, nil)
		v := e.subUser(r.ID, nil)
		first, err := e.transfer(u, res, 100, "give-1")
		e.must(err)
		again, err := e.transfer(u, res, 100, "give-1")
		e.must(err)
		if again.Traffic[res].Available != 100 || first.Traffic[res].Available != 100 {
			t.Fatalf("replay gave twice: %+v", again.Traffic)
		}
		for _, bad := range []struct {
			u *subgate.SubUser
			p subgate.Product
			b int64
		}{{u, res, 101}, {u, res, -100}, {u, dc, 100}, {v, res, 100}} {
			_, err = e.transfer(bad.u, bad.p, bad.b, "give-1")
			wantCode(t, err, subgate.ECONFLICT)
		}
		// A key is per reseller: another reseller may use the same one.
		other := e.reseller(map[subgate.Product]int64{res: 10})
		w := e.subUser(other.ID, nil)
		_, err = e.transfer(w, res, 10, "give-1")
		e.must(err)
		// Keys are shared with pool credits.
		_, err = e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: 100, IdempotencyKey: "give-1"})
		wantCode(t, err, subgate.ECONFLICT)
		// A replay after other movements returns the current state.
		_, err = e.transfer(u, res, 50, "")
		e.must(err)
		again, err = e.transfer(u, res, 100, "give-1")
		e.must(err)
		if again.Traffic[res].Available != 150 {
			t.Fatalf("replay returned %+v, want the current 150", again.Traffic[res])
		}
		_, err = e.transfer(u, res, -30, "take-1")
		e.must(err)
		_, err = e.transfer(u, res, -30, "take-1")
		e.must(err)
		e.traffic(u.ID, res, 120, 0)
		keyed := e.ledger(subgate.LedgerFilter{SubUserID: u.ID})
		found := 0
		for _, x := range keyed {
			if x.IdempotencyKey == "give-1" || x.IdempotencyKey == "take-1" {
				found++
			}
		}
		if found != 2 {
			t.Fatalf("keyed ledger entries: %s", fmtLedger(keyed))
		}
		CheckInvariant(t, e.s, r.ID)
		CheckInvariant(t, e.s, other.ID)
	}},
	{"CreateWithKey", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		mk := func(username string) *subgate.SubUser {
			return &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: username, Password: "pw12345", Status: subgate.StatusActive}
		}
		first := mk("keyed_one")
		e.must(e.s.CreateSubUser(e.ctx, first, map[subgate.Product]int64{res: 100}, "create-1"))
		second := mk("keyed_two")
		e.must(e.s.CreateSubUser(e.ctx, second, map[subgate.Product]int64{res: 100}, "create-1"))
		if second.ID != first.ID || second.Username != "keyed_one" {
			t.Fatalf("replayed create returned %d %q, want the first sub-user %d", second.ID, second.Username, first.ID)
		}
		if e.pool(r.ID, res) != 900 {
			t.Fatalf("replayed create gave again: pool %d", e.pool(r.ID, res))
		}
		if n, _ := e.s.CountSubUsers(e.ctx, r.ID); n != 1 {
			t.Fatalf("count = %d", n)
		}
		_, err := e.transfer(first, res, 100, "create-1")
		wantCode(t, err, subgate.ECONFLICT)
		_, err = e.transfer(first, res, 5, "t-1")
		e.must(err)
		wantCode(t, e.s.CreateSubUser(e.ctx, mk("keyed_three"), nil, "t-1"), subgate.ECONFLICT)
		CheckInvariant(t, e.s, r.ID)
	}},
	{"ServiceSetTraffic", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		p := subgate.Principal{ResellerID: r.ID}
		got, err := e.svc.SetTraffic(e.ctx, p, u.Hash, res, 400, "")
		e.must(err)
		if got.Traffic[res].Available != 400 {
			t.Fatalf("set traffic up: %+v", got.Traffic)
		}
		got, err = e.svc.SetTraffic(e.ctx, p, u.Hash, res, 50, "")
		e.must(err)
		if got.Traffic[res].Available != 50 || e.pool(r.ID, res) != 950 {
			t.Fatalf("set traffic down: %+v pool %d", got.Traffic, e.pool(r.ID, res))
		}
		_, err = e.svc.Give(e.ctx, p, u.Hash, res, 0, "")
		wantCode(t, err, subgate.EINVALID)
		_, err = e.svc.Give(e.ctx, p, u.Hash, "gold", 1, "")
		wantCode(t, err, subgate.EINVALID)
		CheckInvariant(t, e.s, r.ID)
	}},
}

var deleteTests = []test{
	{"ReturnsUnleasedTraffic", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000, dc: 500})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 800, dc: 200})
		now := time.Now()
		e.lease("node-a", u.ID, res, 300, time.Minute, now)
		e.flush("node-a", now, []subgate.UsageItem{use(u.ID, res, now, 100)}, nil)
		// res: available 700 of which 200 leased; dc: 200, none leased.
		at := time.Now().Truncate(time.Second)
		e.must(e.s.DeleteSubUser(e.ctx, subgate.Scope(r.ID), u.ID, at))
		if e.pool(r.ID, res) != 200+500 || e.pool(r.ID, dc) != 500 {
			t.Fatalf("pools after delete = %d, %d; want 700, 500", e.pool(r.ID, res), e.pool(r.ID, dc))
		}
		returns := e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerReturn})
		if len(returns) != 2 {
			t.Fatalf("return entries: %s", fmtLedger(returns))
		}
		CheckInvariant(t, e.s, r.ID)
		wantCode(t, e.s.DeleteSubUser(e.ctx, 0, u.ID, at), subgate.ENOTFOUND)

		// The deleted row keeps its leased part until the node settles it.
		changed, err := e.s.SubUsersChanged(e.ctx, 0, 100)
		e.must(err)
		var del *subgate.SubUser
		for _, c := range changed {
			if c.ID == u.ID {
				del = c
			}
		}
		if del == nil || del.DeletedAt == nil || !del.DeletedAt.Equal(at) {
			t.Fatalf("deleted sub-user in the change feed: %+v", del)
		}
		if del.Traffic[res] != (subgate.Traffic{Available: 200, Used: 100}) {
			t.Fatalf("deleted row traffic = %+v", del.Traffic[res])
		}
		if g := e.lease("node-b", u.ID, res, 10, time.Minute, now); g != 0 {
			t.Fatalf("a deleted sub-user got a lease of %d", g)
		}
		// The node uses 50 more and releases the rest: 150 goes back.
		e.flush("node-a", now.Add(time.Second), []subgate.UsageItem{use(u.ID, res, now, 50)},
			[]subgate.LeaseRelease{{SubUserID: u.ID, Product: res, Bytes: 150}})
		if e.pool(r.ID, res) != 850 {
			t.Fatalf("pool after release of a deleted sub-user = %d, want 850", e.pool(r.ID, res))
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"ServiceDelete", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 100})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		var notified []int64
		e.svc.OnSubUserChange(func(id int64) { notified = append(notified, id) })
		other := e.reseller(nil)
		wantCode(t, e.svc.DeleteSubUser(e.ctx, subgate.Principal{ResellerID: other.ID}, u.Hash), subgate.ENOTFOUND)
		e.must(e.svc.DeleteSubUser(e.ctx, subgate.Principal{ResellerID: r.ID}, u.Hash))
		if len(notified) != 1 || notified[0] != u.ID {
			t.Fatalf("change notifications = %v", notified)
		}
		if e.pool(r.ID, res) != 100 {
			t.Fatalf("pool = %d", e.pool(r.ID, res))
		}
		CheckInvariant(t, e.s, r.ID)
	}},
}
