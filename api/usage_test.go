package api_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// flush records usage as a gateway node would after metering it.
func (e *env) flush(items ...subgate.UsageItem) {
	e.t.Helper()
	err := e.store.FlushUsage(context.Background(), subgate.UsageBatch{
		ID: subgate.NewHash(), Node: "test-node", Now: time.Now(), Items: items, LeaseTTL: time.Minute,
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

type usageReply struct {
	Granularity string
	Total       int64
	Points      []struct {
		Time      time.Time
		SubUserID int64 `json:"subuser_id"`
		Product   string
		Bytes     int64
	}
}

func TestUsageSeries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 1_000_000)
	a := e.createSubUser(tok, "alice", 100_000)
	b := e.createSubUser(tok, "bob", 100_000)
	now := time.Now().UTC()
	h1 := subgate.HourOf(now.Add(-26 * time.Hour))
	h2 := subgate.HourOf(now.Add(-2 * time.Hour))
	e.flush(
		subgate.UsageItem{SubUserID: a.ID, Product: "res", Hour: h1, Bytes: 1000},
		subgate.UsageItem{SubUserID: a.ID, Product: "res", Hour: h2, Bytes: 300},
		subgate.UsageItem{SubUserID: b.ID, Product: "res", Hour: h2, Bytes: 50},
	)

	var hourly usageReply
	q := url.Values{"from": {now.Add(-48 * time.Hour).Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}, "granularity": {"hour"}}
	e.call("GET", "/v1/subusers/"+a.Hash+"/usage?"+q.Encode(), tok, nil).expect(t, 200).into(t, &hourly)
	if hourly.Total != 1300 || len(hourly.Points) != 2 || !hourly.Points[0].Time.Equal(h1) || hourly.Points[1].Bytes != 300 {
		t.Fatalf("hourly: %+v", hourly)
	}
	// Default granularity is day, default range the last 30 days.
	var daily usageReply
	e.call("GET", "/v1/subusers/"+itoa(a.ID)+"/usage", tok, nil).expect(t, 200).into(t, &daily)
	if daily.Granularity != "day" || daily.Total != 1300 {
		t.Fatalf("daily: %+v", daily)
	}
	// Dates: "to" includes the whole day.
	day := now.Format(time.DateOnly)
	var today usageReply
	e.call("GET", "/v1/subusers/"+a.Hash+"/usage?from="+day+"&to="+day, tok, nil).expect(t, 200).into(t, &today)
	want := int64(300)
	if h1.Format(time.DateOnly) == day {
		want = 1300
	}
	if h2.Format(time.DateOnly) != day {
		want -= 300
	}
	if today.Total != want {
		t.Fatalf("today: %+v, want total %d", today, want)
	}
	// All sub-users, summed or one series each.
	var all, per usageReply
	e.call("GET", "/v1/usage?granularity=hour&from="+url.QueryEscape(h2.Format(time.RFC3339)), tok, nil).expect(t, 200).into(t, &all)
	if all.Total != 350 || len(all.Points) != 1 {
		t.Fatalf("all: %+v", all)
	}
	e.call("GET", "/v1/usage?granularity=hour&by_subuser=true&from="+url.QueryEscape(h2.Format(time.RFC3339)), tok, nil).expect(t, 200).into(t, &per)
	if per.Total != 350 || len(per.Points) != 2 || per.Points[0].SubUserID == 0 {
		t.Fatalf("per sub-user: %+v", per)
	}
	// The sub-user shows its used bytes and window usage.
	var got struct {
		Used  int64
		Usage struct{ Day, Month int64 }
	}
	e.call("GET", "/v1/subusers/"+a.Hash, tok, nil).expect(t, 200).into(t, &got)
	if got.Used != 1300 {
		t.Fatalf("used: %+v", got)
	}

	for _, c := range []struct{ q, field string }{
		{"granularity=minute", "granularity"},
		{"from=yesterday", "from"},
		{"to=2026-13-01", "to"},
		{"from=2026-02-01&to=2026-01-01", "to"},
		{"from=2020-01-01&to=2026-01-01", "to"},
	} {
		e.call("GET", "/v1/subusers/"+a.Hash+"/usage?"+c.q, tok, nil).expectErr(t, 400, "invalid", c.field)
	}
	e.call("GET", "/v1/usage?by_subuser=maybe", tok, nil).expectErr(t, 400, "invalid", "by_subuser")
	e.checkInvariant(id)
}

func TestLedgerEntries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 10_000)
	a := e.createSubUser(tok, "alice", 1000)
	e.createSubUser(tok, "bob", 500)
	e.call("POST", "/v1/subusers/"+a.Hash+"/take", tok, map[string]any{"product": "res", "bytes": 400}, "Idempotency-Key", "take-1").expect(t, 200)
	e.call("POST", "/v1/subusers/"+a.Hash+"/take", tok, map[string]any{"product": "res", "bytes": 601}).expectErr(t, 422, "insufficient", "")

	type entry struct {
		ID             int64
		Kind           string
		Bytes          int64
		SubUserID      int64  `json:"subuser_id"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	var all struct {
		Items      []entry
		NextBefore int64 `json:"next_before"`
	}
	e.call("GET", "/v1/ledger", tok, nil).expect(t, 200).into(t, &all)
	if len(all.Items) != 4 || all.Items[0].Kind != "take" || all.Items[0].IdempotencyKey != "take-1" || all.Items[3].Kind != "credit" {
		t.Fatalf("ledger: %+v", all.Items)
	}
	var mine struct{ Items []entry }
	e.call("GET", "/v1/subusers/"+a.Hash+"/ledger", tok, nil).expect(t, 200).into(t, &mine)
	if len(mine.Items) != 2 || mine.Items[0].SubUserID != a.ID {
		t.Fatalf("alice's ledger: %+v", mine.Items)
	}
	var gives struct{ Items []entry }
	e.call("GET", "/v1/ledger?kind=give&subuser="+itoa(a.ID), tok, nil).expect(t, 200).into(t, &gives)
	if len(gives.Items) != 1 || gives.Items[0].Bytes != 1000 {
		t.Fatalf("alice's gives: %+v", gives.Items)
	}
	var byProduct struct{ Items []entry }
	e.call("GET", "/v1/ledger?product=res", tok, nil).expect(t, 200).into(t, &byProduct)
	if len(byProduct.Items) != len(all.Items) {
		t.Fatalf("residential entries: %+v", byProduct.Items)
	}
	e.call("GET", "/v1/subusers/"+a.Hash+"/ledger?product=dc", tok, nil).expect(t, 200).into(t, &byProduct)
	if len(byProduct.Items) != 0 {
		t.Fatalf("alice's datacenter entries: %+v", byProduct.Items)
	}
	// Paging newest first with before.
	var p1, p2 struct {
		Items      []entry
		NextBefore int64 `json:"next_before"`
	}
	e.call("GET", "/v1/ledger?limit=3", tok, nil).expect(t, 200).into(t, &p1)
	e.call("GET", "/v1/ledger?limit=3&before="+itoa(p1.NextBefore), tok, nil).expect(t, 200).into(t, &p2)
	if len(p1.Items) != 3 || len(p2.Items) != 1 || p2.Items[0].Kind != "credit" {
		t.Fatalf("pages: %+v / %+v", p1, p2)
	}
	for _, c := range []struct{ q, field string }{
		{"kind=gift", "kind"}, {"product=gold", "product"}, {"limit=0x", "limit"}, {"limit=1001", "limit"}, {"before=-1", "before"},
	} {
		e.call("GET", "/v1/ledger?"+c.q, tok, nil).expectErr(t, 400, "invalid", c.field)
	}
	e.checkInvariant(id)
}
