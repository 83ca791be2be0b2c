package storetest

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// freeToLease reads how much of a balance no live lease holds, by asking a
// fresh node for everything with a lease that expires at once.
func (e *env) freeToLease(id int64, p subgate.Product, now time.Time) int64 {
	e.t.Helper()
	return e.lease(name("probe"), id, p, subgate.MaxBytes, time.Nanosecond, now)
}

var flushTests = []test{
	{"ChargesUsage", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 10_000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		e.lease("a", u.ID, res, 500, time.Minute, t0)
		e.flush("a", t0, []subgate.UsageItem{use(u.ID, res, t0, 300)}, nil)
		e.traffic(u.ID, res, 700, 300)
		// 200 is still leased: a fresh node finds 500 free.
		if free := e.freeToLease(u.ID, res, t0); free != 500 {
			t.Fatalf("free after flush = %d, want 500", free)
		}
		got := e.get(u.ID)
		if got.Usage.Day != 300 || got.Usage.Month != 300 || got.Usage.DayKey != 20310314 || got.Usage.MonthKey != 203103 {
			t.Fatalf("window usage = %+v", got.Usage)
		}
		if got.TotalUsed() != 300 || got.TotalAvailable() != 700 {
			t.Fatalf("totals = %d used, %d available", got.TotalUsed(), got.TotalAvailable())
		}
		usage := e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerUsage})
		if len(usage) != 1 || usage[0].Bytes != 300 || !usage[0].CreatedAt.Equal(subgate.HourOf(t0)) {
			t.Fatalf("usage ledger = %s", fmtLedger(usage))
		}
		// More in the same hour grows the same ledger row; another hour adds one.
		e.flush("a", t0.Add(time.Second), []subgate.UsageItem{use(u.ID, res, t0, 50)}, nil)
		e.flush("a", t0.Add(time.Hour), []subgate.UsageItem{use(u.ID, res, t0.Add(time.Hour), 25)}, nil)
		usage = e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerUsage})
		if len(usage) != 2 || usage[0].Bytes+usage[1].Bytes != 375 {
			t.Fatalf("usage ledger = %s", fmtLedger(usage))
		}
		e.traffic(u.ID, res, 625, 375)
		CheckInvariant(t, e.s, r.ID)
	}},
	{"FlushDoesNotBumpSeq", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 100})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		e.flush("a", t0, []subgate.UsageItem{use(u.ID, res, t0, 10)}, nil)
		if got := e.get(u.ID); got.Seq != u.Seq {
			t.Fatalf("Seq moved from %d to %d on a flush", u.Seq, got.Seq)
		}
	}},
	{"ReplayedBatchCountsOnce", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		e.lease("a", u.ID, res, 400, time.Minute, t0)
		b := subgate.UsageBatch{ID: subgate.NewHash(), Node: "a", Now: t0, LeaseTTL: time.Minute,
			Items:   []subgate.UsageItem{use(u.ID, res, t0, 100)},
			Release: []subgate.LeaseRelease{{SubUserID: u.ID, Product: res, Bytes: 50}},
			Egress:  []subgate.EgressUse{{SubUserID: u.ID, Key: "198.51.100.1"}}}
		for range 3 {
			e.must(e.s.FlushUsage(e.ctx, b))
		}
		e.traffic(u.ID, res, 900, 100)
		got := e.get(u.ID)
		if got.Usage.Day != 100 || got.Usage.IPsUsed != 1 {
			t.Fatalf("window usage after replays = %+v", got.Usage)
		}
		if free := e.freeToLease(u.ID, res, t0); free != 900-250 {
			t.Fatalf("free = %d, want 650 (lease 400 − 100 used − 50 released)", free)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"DayAndMonthRollover", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 100_000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100_000})
		ws := subgate.Windows{}
		check := func(step string, dayKey, day, monthKey, month int64) {
			t.Helper()
			got := e.get(u.ID).Usage
			if got.DayKey != dayKey || got.Day != day || got.MonthKey != monthKey || got.Month != month {
				t.Fatalf("%s: usage = %+v, want day %d=%d month %d=%d", step, got, dayKey, day, monthKey, month)
			}
		}
		lastDay := time.Date(2031, 3, 31, 23, 10, 0, 0, time.UTC)
		e.flush("a", lastDay, []subgate.UsageItem{use(u.ID, res, lastDay, 10)}, nil)
		e.flush("a", lastDay, []subgate.UsageItem{use(u.ID, res, lastDay, 5)}, nil)
		check("same day", 20310331, 15, 203103, 15)
		nextDay := lastDay.Add(2 * time.Hour) // April 1st
		e.flush("a", nextDay, []subgate.UsageItem{use(u.ID, res, nextDay, 7)}, nil)
		check("new month", 20310401, 7, 203104, 7)
		// A late flush for March is charged but does not touch April's counters.
		e.flush("a", nextDay, []subgate.UsageItem{use(u.ID, res, lastDay, 3)}, nil)
		check("late flush", 20310401, 7, 203104, 7)
		later := time.Date(2031, 4, 2, 8, 0, 0, 0, time.UTC)
		e.flush("a", later, []subgate.UsageItem{use(u.ID, res, later, 4)}, nil)
		check("new day", 20310402, 4, 203104, 11)
		// One batch spanning midnight.
		midnight := time.Date(2031, 4, 3, 0, 0, 0, 0, time.UTC)
		e.flush("a", midnight, []subgate.UsageItem{use(u.ID, res, midnight.Add(-time.Minute), 2), use(u.ID, res, midnight, 9)}, nil)
		check("across midnight", 20310403, 9, 203104, 22)
		e.traffic(u.ID, res, 100_000-40, 40)
		if got := e.get(u.ID).Usage.At(ws, midnight.Add(48*time.Hour)); got.Day != 0 || got.Month != 22 {
			t.Fatalf("presented usage two days later = %+v", got)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"WindowsFollowLocation", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		east := subgate.Windows{Location: time.FixedZone("UTC+3", 3*3600)}
		hour := time.Date(2031, 3, 14, 22, 0, 0, 0, time.UTC) // the 15th in UTC+3
		e.must(e.s.FlushUsage(e.ctx, subgate.UsageBatch{ID: subgate.NewHash(), Node: "a", Now: hour, Windows: east,
			Items: []subgate.UsageItem{use(u.ID, res, hour, 10)}}))
		if got := e.get(u.ID).Usage; got.DayKey != 20310315 || got.Day != 10 {
			t.Fatalf("usage = %+v, want day 20310315", got)
		}
	}},
	{"OverdraftWhenLeaseLost", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		e.lease("a", u.ID, res, 100, time.Second, t0)
		// The lease expires; the owner takes everything; the node reports late.
		if g := e.lease("b", u.ID, res, 100, time.Minute, t0.Add(2*time.Second)); g != 100 {
			t.Fatalf("b = %d", g)
		}
		e.flush("b", t0.Add(3*time.Second), []subgate.UsageItem{use(u.ID, res, t0, 100)}, nil)
		e.flush("a", t0.Add(4*time.Second), []subgate.UsageItem{use(u.ID, res, t0, 60)}, nil)
		e.traffic(u.ID, res, 0, 100)
		over := e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerOverdraft})
		if len(over) != 1 || over[0].Bytes != 60 {
			t.Fatalf("overdraft ledger = %s", fmtLedger(over))
		}
		if got := e.get(u.ID).Usage; got.Day != 160 {
			t.Fatalf("day counter = %d, want all 160 bytes that flowed", got.Day)
		}
		usage := e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerUsage})
		if len(usage) != 1 || usage[0].Bytes != 100 {
			t.Fatalf("usage ledger = %s", fmtLedger(usage))
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"ReleaseAndRenew", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		e.lease("a", u.ID, res, 600, 10*time.Second, t0)
		e.flush("a", t0.Add(time.Second), nil, []subgate.LeaseRelease{{SubUserID: u.ID, Product: res, Bytes: 100}})
		if free := e.freeToLease(u.ID, res, t0.Add(2*time.Second)); free != 500 {
			t.Fatalf("free after release = %d, want 500", free)
		}
		// An empty flush renews the node's live leases.
		e.must(e.s.FlushUsage(e.ctx, subgate.UsageBatch{ID: subgate.NewHash(), Node: "a", Now: t0.Add(5 * time.Second),
			LeaseTTL: time.Minute}))
		// Renewed to t0+5s+1m: still live at t0+30s, past its first expiry.
		if free := e.freeToLease(u.ID, res, t0.Add(30*time.Second)); free != 500 {
			t.Fatalf("free after renewal = %d, want 500", free)
		}
		if free := e.freeToLease(u.ID, res, t0.Add(66*time.Second)); free != 1000 {
			t.Fatalf("free after the renewed lease expired = %d, want 1000", free)
		}
		e.lease("a", u.ID, res, 300, time.Minute, t0.Add(70*time.Second))
		e.flush("a", t0.Add(71*time.Second), nil, []subgate.LeaseRelease{{SubUserID: u.ID, Product: res, Bytes: 5000}})
		if free := e.freeToLease(u.ID, res, t0.Add(72*time.Second)); free != 1000 {
			t.Fatalf("free after over-release = %d, want 1000", free)
		}
		// Expired leases are not renewed.
		e.lease("a", u.ID, res, 300, time.Second, t0.Add(80*time.Second))
		e.flush("a", t0.Add(90*time.Second), nil, nil)
		if free := e.freeToLease(u.ID, res, t0.Add(91*time.Second)); free != 1000 {
			t.Fatalf("an expired lease was renewed: free = %d", free)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"EgressCountsDistinctKeys", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 2000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		v := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		batch := func(now time.Time, keys ...string) {
			b := subgate.UsageBatch{ID: subgate.NewHash(), Node: "a", Now: now, Items: []subgate.UsageItem{use(u.ID, res, now, 1)}}
			for _, k := range keys {
				b.Egress = append(b.Egress, subgate.EgressUse{SubUserID: u.ID, Key: k})
			}
			e.must(e.s.FlushUsage(e.ctx, b))
		}
		batch(t0, "198.51.100.1", "198.51.100.2", "198.51.100.1")
		batch(t0.Add(time.Minute), "198.51.100.2", "session-x")
		if got := e.get(u.ID).Usage.IPsUsed; got != 3 {
			t.Fatalf("IPsUsed = %d, want 3", got)
		}
		if got := e.get(v.ID).Usage.IPsUsed; got != 0 {
			t.Fatalf("another sub-user's IPsUsed = %d", got)
		}
		tomorrow := t0.Add(24 * time.Hour)
		batch(tomorrow, "198.51.100.1")
		if got := e.get(u.ID).Usage; got.IPsUsed != 1 || got.DayKey != 20310315 {
			t.Fatalf("next day usage = %+v, want 1 IP", got)
		}
	}},
	{"ProductAnyBalance", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{star: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{star: 500})
		if g := e.lease("a", u.ID, star, 200, time.Minute, t0); g != 200 {
			t.Fatalf("lease on * = %d", g)
		}
		e.flush("a", t0, []subgate.UsageItem{use(u.ID, star, t0, 150)}, nil)
		e.traffic(u.ID, star, 350, 150)
		CheckInvariant(t, e.s, r.ID)
	}},
}
