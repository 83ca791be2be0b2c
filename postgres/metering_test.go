package postgres_test

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func TestLeasesBoundGrantsAndFlushSettlesThem(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	f := newFixture(t, st, 10_000, 1_000)
	res := subgate.ProductResidential
	now := time.Now() // takes judge leases by the store's clock
	var ws subgate.Windows
	lease := func(node string, want int64) int64 {
		t.Helper()
		g, err := st.AcquireLease(f.ctx, subgate.LeaseRequest{Node: node, SubUserID: f.u.ID, Product: res, Want: want, TTL: time.Minute, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if g := lease("a", 600); g != 600 {
		t.Fatalf("grant %d, want 600", g)
	}
	if g := lease("b", 600); g != 400 {
		t.Fatalf("second node granted %d, want the 400 left", g)
	}
	if g := lease("b", 1); g != 0 {
		t.Fatalf("granted %d of an exhausted balance", g)
	}
	// A take may not touch leased bytes.
	_, err := st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: -1})
	wantCode(t, err, subgate.EINSUFFICIENT)

	// Node a used 250 of its 600 and gives 100 back.
	hour := subgate.HourOf(now)
	batch := subgate.UsageBatch{ID: "batch-1", Node: "a", Now: now, LeaseTTL: time.Minute,
		Items:   []subgate.UsageItem{{SubUserID: f.u.ID, Product: res, Hour: hour, Bytes: 250}},
		Release: []subgate.LeaseRelease{{SubUserID: f.u.ID, Product: res, Bytes: 100}},
		Egress:  []subgate.EgressUse{{SubUserID: f.u.ID, Key: "1.2.3.4"}, {SubUserID: f.u.ID, Key: "1.2.3.4"}}}
	for range 2 { // the second apply is a no-op
		if err := st.FlushUsage(f.ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	u, err := st.SubUser(f.ctx, 0, f.u.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if u.Traffic[res] != (subgate.Traffic{Available: 750, Used: 250}) {
		t.Fatalf("traffic %+v", u.Traffic[res])
	}
	if u.Usage.DayKey != ws.DayKey(now) || u.Usage.Day != 250 || u.Usage.MonthKey != ws.MonthKey(now) || u.Usage.Month != 250 || u.Usage.IPsUsed != 1 {
		t.Fatalf("window usage %+v", u.Usage)
	}
	// Node a now holds 250 (600-250-100), b 400: 100 bytes are free to take.
	if _, err := st.Transfer(f.ctx, subgate.Transfer{SubUserID: f.u.ID, Product: res, Bytes: -100}); err != nil {
		t.Fatal(err)
	}
	// Node b lost its lease and, a month later, reports more usage than is available.
	later := hour.AddDate(0, 1, 0)
	over := subgate.UsageBatch{ID: "batch-2", Node: "b", Now: later, LeaseTTL: time.Minute,
		Items: []subgate.UsageItem{{SubUserID: f.u.ID, Product: res, Hour: later, Bytes: 700}}}
	if err := st.FlushUsage(f.ctx, over); err != nil {
		t.Fatal(err)
	}
	u, _ = st.SubUser(f.ctx, 0, f.u.Hash)
	if u.Traffic[res] != (subgate.Traffic{Available: 0, Used: 900}) {
		t.Fatalf("after overdraft: %+v", u.Traffic[res])
	}
	// The new day and month windows start over with everything reported.
	if u.Usage.DayKey != ws.DayKey(later) || u.Usage.Day != 700 || u.Usage.MonthKey != ws.MonthKey(later) || u.Usage.Month != 700 {
		t.Fatalf("window usage after midnight %+v", u.Usage)
	}
	// Late usage of a past window is charged but leaves the current window alone.
	if err := st.FlushUsage(f.ctx, subgate.UsageBatch{ID: "batch-3", Node: "a", Now: later,
		Items: []subgate.UsageItem{{SubUserID: f.u.ID, Product: res, Hour: hour, Bytes: 5}}}); err != nil {
		t.Fatal(err)
	}
	u, _ = st.SubUser(f.ctx, 0, f.u.Hash)
	if u.Usage.Day != 700 || u.Usage.Month != 700 || u.Usage.DayKey != ws.DayKey(later) {
		t.Fatalf("window usage after late usage %+v", u.Usage)
	}
	entries, err := st.Ledger(f.ctx, subgate.LedgerFilter{SubUserID: f.u.ID, Kind: subgate.LedgerOverdraft})
	if err != nil || len(entries) != 2 || entries[0].Bytes != 5 || entries[1].Bytes != 50 {
		t.Fatalf("overdraft entries %v %+v", err, entries)
	}
	checkInvariant(t, st, f.r.ID)
	db.checkTotals(t)
}

func TestDeleteReturnsUnleasedBytesAndReleaseReturnsTheRest(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	f := newFixture(t, st, 1_000, 500)
	res := subgate.ProductResidential
	now := time.Now()
	if _, err := st.AcquireLease(f.ctx, subgate.LeaseRequest{Node: "a", SubUserID: f.u.ID, Product: res, Want: 200, TTL: time.Minute, Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSubUser(f.ctx, subgate.Scope(f.r.ID), f.u.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SubUser(f.ctx, 0, f.u.Hash); subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Fatalf("deleted sub-user readable: %v", err)
	}
	r, _ := st.Reseller(f.ctx, f.r.ID)
	if r.Pools[res] != 800 {
		t.Fatalf("pool %d after delete, want 800 (500 given, 200 leased)", r.Pools[res])
	}
	// A deleted sub-user gets no more lease.
	if g, err := st.AcquireLease(f.ctx, subgate.LeaseRequest{Node: "a", SubUserID: f.u.ID, Product: res, Want: 1, TTL: time.Minute, Now: now}); err != nil || g != 0 {
		t.Fatalf("lease on a deleted sub-user: %d %v", g, err)
	}
	err := st.FlushUsage(f.ctx, subgate.UsageBatch{ID: "last", Node: "a", Now: now,
		Items:   []subgate.UsageItem{{SubUserID: f.u.ID, Product: res, Hour: subgate.HourOf(now), Bytes: 30}},
		Release: []subgate.LeaseRelease{{SubUserID: f.u.ID, Product: res, Bytes: 170}}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = st.Reseller(f.ctx, f.r.ID)
	if r.Pools[res] != 970 {
		t.Fatalf("pool %d after release, want 970", r.Pools[res])
	}
	lines := checkInvariant(t, st, f.r.ID)
	if lines[res].Available != 0 || lines[res].Used != 30 || lines[res].Leased != 0 {
		t.Fatalf("audit %+v", lines[res])
	}
	db.checkTotals(t)
	changed, err := st.SubUsersChanged(f.ctx, 0, 100)
	if err != nil || len(changed) != 1 || changed[0].DeletedAt == nil {
		t.Fatalf("change feed after delete: %v %+v", err, changed)
	}
}

func TestUsageSeriesByHourAndDay(t *testing.T) {
	st := openStore(t)
	f := newFixture(t, st, 10_000, 5_000)
	res := subgate.ProductResidential
	base := time.Date(2026, 5, 10, 22, 0, 0, 0, time.UTC)
	var items []subgate.UsageItem
	for h := range 4 { // 22:00, 23:00 on the 10th; 00:00, 01:00 on the 11th
		items = append(items, subgate.UsageItem{SubUserID: f.u.ID, Product: res, Hour: base.Add(time.Duration(h) * time.Hour), Bytes: int64(100 * (h + 1))})
	}
	if err := st.FlushUsage(f.ctx, subgate.UsageBatch{ID: "u1", Node: "a", Now: base, Items: items}); err != nil {
		t.Fatal(err)
	}
	hourly, err := st.Usage(f.ctx, subgate.UsageQuery{Scope: subgate.Scope(f.r.ID), From: base, To: base.Add(3 * time.Hour), Granularity: subgate.GranularityHour})
	if err != nil {
		t.Fatal(err)
	}
	if len(hourly) != 3 || hourly[0].Bytes != 100 || !hourly[2].Time.Equal(base.Add(2*time.Hour)) || hourly[2].Bytes != 300 {
		t.Fatalf("hourly %+v", hourly)
	}
	daily, err := st.Usage(f.ctx, subgate.UsageQuery{From: base.Add(-24 * time.Hour), To: base.Add(48 * time.Hour), BySubUser: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(daily) != 2 || daily[0].Bytes != 300 || daily[1].Bytes != 700 || daily[0].SubUserID != f.u.ID ||
		!daily[1].Time.Equal(time.Date(2026, 5, 11, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("daily %+v", daily)
	}
	// In UTC+3 all four hours fall on the 11th.
	plus3 := time.FixedZone("UTC+3", 3*3600)
	daily, err = st.Usage(f.ctx, subgate.UsageQuery{From: base.Add(-24 * time.Hour), To: base.Add(48 * time.Hour), Windows: subgate.Windows{Location: plus3}})
	if err != nil || len(daily) != 1 || daily[0].Bytes != 1000 {
		t.Fatalf("daily in UTC+3: %v %+v", err, daily)
	}
	// Another reseller sees nothing.
	other, err := st.Usage(f.ctx, subgate.UsageQuery{Scope: subgate.Scope(f.r.ID + 99), From: base, To: base.Add(48 * time.Hour)})
	if err != nil || len(other) != 0 {
		t.Fatalf("other reseller's usage: %v %+v", err, other)
	}
}

func TestFlushPrunesOldBatchIDsAndEgressKeys(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	f := newFixture(t, st, 10_000, 1_000)
	res := subgate.ProductResidential
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	flush := func(id string, now time.Time) {
		t.Helper()
		err := st.FlushUsage(f.ctx, subgate.UsageBatch{ID: id, Node: "a", Now: now,
			Items:  []subgate.UsageItem{{SubUserID: f.u.ID, Product: res, Hour: subgate.HourOf(now), Bytes: 1}},
			Egress: []subgate.EgressUse{{SubUserID: f.u.ID, Key: id}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(table string) (n int) {
		t.Helper()
		if err := db.admin.QueryRow(f.ctx, `SELECT count(*) FROM `+db.schema+`.`+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	flush("old", t0)
	if count("usage_batches") != 1 || count("egress") != 1 {
		t.Fatalf("after one flush: %d batches, %d egress keys", count("usage_batches"), count("egress"))
	}
	flush("recent", t0.Add(6*24*time.Hour)) // the day-old egress key goes
	if count("usage_batches") != 2 || count("egress") != 1 {
		t.Fatalf("six days later: %d batches, %d egress keys", count("usage_batches"), count("egress"))
	}
	flush("now", t0.Add(9*24*time.Hour)) // the week-old batch ID goes
	if count("usage_batches") != 2 || count("egress") != 1 {
		t.Fatalf("nine days later: %d batches, %d egress keys", count("usage_batches"), count("egress"))
	}
	var ids []string
	rows, _ := db.admin.Query(f.ctx, `SELECT id FROM `+db.schema+`.usage_batches ORDER BY id`)
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if len(ids) != 2 || ids[0] != "now" || ids[1] != "recent" {
		t.Fatalf("remembered batches %v", ids)
	}
	checkInvariant(t, st, f.r.ID)
}
