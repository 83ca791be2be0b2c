package storetest

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
)

var leaseTests = []test{
	{"BoundedByBalance", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000, star: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000, star: 300})
		steps := []struct {
			node string
			p    subgate.Product
			want int64
			got  int64
		}{
			{"a", res, 600, 600},
			{"a", res, 600, 400},
			{"a", res, 1, 0},
			{"b", res, 1, 0},      // other nodes see the same balance
			{"b", star, 500, 300}, // each balance is leased on its own
			{"b", dc, 500, 0},     // nothing given on dc
			{"a", res, 0, 0},
		}
		for i, s := range steps {
			if g := e.lease(s.node, u.ID, s.p, s.want, time.Minute, t0); g != s.got {
				t.Fatalf("step %d: lease %s %s want %d = %d, expected %d", i, s.node, s.p, s.want, g, s.got)
			}
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"OtherNodesAndExpiry", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		if g := e.lease("a", u.ID, res, 700, 10*time.Second, t0); g != 700 {
			t.Fatalf("a = %d", g)
		}
		if g := e.lease("b", u.ID, res, 700, 10*time.Second, t0.Add(time.Second)); g != 300 {
			t.Fatalf("b while a holds 700 = %d, want 300", g)
		}
		// a's lease expires at t0+10s, b's at t0+11s.
		if g := e.lease("c", u.ID, res, 1000, time.Minute, t0.Add(10*time.Second)); g != 700 {
			t.Fatalf("c after a expired = %d, want 700", g)
		}
		if g := e.lease("a", u.ID, res, 1000, time.Minute, t0.Add(12*time.Second)); g != 300 {
			t.Fatalf("a after b expired = %d, want 300", g)
		}
	}},
	{"BoundedByLimits", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1_000_000})
		cases := []struct {
			name   string
			limits subgate.Limits
			want   int64
		}{
			{"daily", subgate.Limits{Daily: 500}, 500 - 100},
			{"monthly", subgate.Limits{Monthly: 800}, 800 - 300},
			{"lifetime", subgate.Limits{Lifetime: 1000}, 1000 - 600},
			{"usage_cap", subgate.Limits{UsageCap: 700}, 700 - 600},
			{"smallest wins", subgate.Limits{Daily: 5000, Monthly: 450, Lifetime: 9000}, 450 - 300},
			{"exhausted", subgate.Limits{Daily: 100}, 0},
		}
		yesterday := t0.Add(-24 * time.Hour)
		lastMonth := t0.AddDate(0, -1, 0)
		for _, c := range cases {
			u := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: name("lim"), Password: "pw12345",
				Status: subgate.StatusActive, Limits: c.limits}
			e.must(e.s.CreateSubUser(e.ctx, u, map[subgate.Product]int64{res: 100_000}, ""))
			// Used: 300 last month, 200 earlier this month, 100 today: lifetime 600.
			e.flush("n", lastMonth, []subgate.UsageItem{use(u.ID, res, lastMonth, 300)}, nil)
			e.flush("n", yesterday, []subgate.UsageItem{use(u.ID, res, yesterday, 200)}, nil)
			e.flush("n", t0, []subgate.UsageItem{use(u.ID, res, t0, 100)}, nil)
			first := c.want / 2
			if g := e.lease("a", u.ID, res, first, time.Minute, t0); g != first {
				t.Fatalf("%s: first lease = %d, want %d", c.name, g, first)
			}
			// Another node's lease counts against the same limit.
			if g := e.lease("b", u.ID, res, 100_000, time.Minute, t0); g != c.want-first {
				t.Fatalf("%s: second lease = %d, want %d", c.name, g, c.want-first)
			}
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"LimitsSpanProducts", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000, dc: 1000})
		u := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: name("span"), Password: "pw12345",
			Status: subgate.StatusActive, Limits: subgate.Limits{Daily: 500}}
		e.must(e.s.CreateSubUser(e.ctx, u, map[subgate.Product]int64{res: 1000, dc: 1000}, ""))
		if g := e.lease("a", u.ID, res, 300, time.Minute, t0); g != 300 {
			t.Fatalf("res lease = %d", g)
		}
		if g := e.lease("a", u.ID, dc, 300, time.Minute, t0); g != 200 {
			t.Fatalf("dc lease = %d, want the 200 the daily limit leaves", g)
		}
	}},
	{"WindowRollover", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 10_000})
		u := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: name("roll"), Password: "pw12345",
			Status: subgate.StatusActive, Limits: subgate.Limits{Daily: 500}}
		e.must(e.s.CreateSubUser(e.ctx, u, map[subgate.Product]int64{res: 10_000}, ""))
		e.flush("n", t0, []subgate.UsageItem{use(u.ID, res, t0, 500)}, nil)
		if g := e.lease("a", u.ID, res, 100, time.Minute, t0); g != 0 {
			t.Fatalf("lease with the day used up = %d", g)
		}
		tomorrow := t0.Add(24 * time.Hour)
		if g := e.lease("a", u.ID, res, 1000, time.Minute, tomorrow); g != 500 {
			t.Fatalf("lease the next day = %d, want 500", g)
		}
	}},
	{"InactiveGetsNothing", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 10_000})
		disabled := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		_, err := e.s.UpdateSubUser(e.ctx, 0, disabled.ID, subgate.SubUserUpdate{Status: ptr(subgate.StatusDisabled)}, t0)
		e.must(err)
		blocked := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		_, err = e.s.UpdateSubUser(e.ctx, 0, blocked.ID, subgate.SubUserUpdate{Status: ptr(subgate.StatusBlocked)}, t0)
		e.must(err)
		expired := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		_, err = e.s.UpdateSubUser(e.ctx, 0, expired.ID, subgate.SubUserUpdate{ExpiresAt: ptr(ptr(t0))}, t0)
		e.must(err)
		deleted := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		e.must(e.s.DeleteSubUser(e.ctx, 0, deleted.ID, time.Now()))
		for _, u := range []*subgate.SubUser{disabled, blocked, expired, deleted} {
			g, err := e.s.AcquireLease(e.ctx, subgate.LeaseRequest{Node: "a", SubUserID: u.ID, Product: res, Want: 100, TTL: time.Minute, Now: t0})
			if err != nil || g != 0 {
				t.Fatalf("sub-user %d: lease = %d, %v; want 0", u.ID, g, err)
			}
		}
		// Not yet expired: a lease is granted.
		if g := e.lease("a", expired.ID, res, 100, time.Minute, t0.Add(-time.Second)); g != 100 {
			t.Fatalf("lease before expiry = %d", g)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
}
