package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func fmtPoints(ps []subgate.UsagePoint) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%s u%d %s %d", p.Time.UTC().Format("01-02T15"), p.SubUserID, p.Product, p.Bytes)
	}
	return strings.Join(parts, "; ")
}

var usageTests = []test{
	{"HourAndDaySeries", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 10_000, dc: 10_000})
		other := e.reseller(map[subgate.Product]int64{res: 10_000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 5000, dc: 5000})
		v := e.subUser(r.ID, map[subgate.Product]int64{res: 5000})
		w := e.subUser(other.ID, map[subgate.Product]int64{res: 5000})
		day1 := time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC)
		h := func(d, hour int) time.Time { return day1.AddDate(0, 0, d).Add(time.Duration(hour) * time.Hour) }
		e.flush("a", h(2, 0), []subgate.UsageItem{
			use(u.ID, res, h(0, 10), 100), use(u.ID, res, h(0, 10), 5), // same bucket twice
			use(u.ID, dc, h(0, 10), 7),
			use(v.ID, res, h(0, 11), 20),
			use(u.ID, res, h(0, 23), 30),
			use(v.ID, res, h(1, 0), 40),
			use(u.ID, res, h(1, 5), 50),
			use(w.ID, res, h(0, 10), 999), // another reseller
		}, nil)
		q := subgate.UsageQuery{Scope: subgate.Scope(r.ID), From: day1, To: day1.AddDate(0, 0, 2), Granularity: subgate.GranularityHour}
		got, err := e.s.Usage(e.ctx, q)
		e.must(err)
		want := "05-01T10 u0 dc 7; 05-01T10 u0 res 105; 05-01T11 u0 res 20; 05-01T23 u0 res 30; 05-02T00 u0 res 40; 05-02T05 u0 res 50"
		if fmtPoints(got) != want {
			t.Fatalf("hourly:\n got %s\nwant %s", fmtPoints(got), want)
		}
		q.Granularity = subgate.GranularityDay
		got, err = e.s.Usage(e.ctx, q)
		e.must(err)
		if want := "05-01T00 u0 dc 7; 05-01T00 u0 res 155; 05-02T00 u0 res 90"; fmtPoints(got) != want {
			t.Fatalf("daily:\n got %s\nwant %s", fmtPoints(got), want)
		}
		q.BySubUser = true
		got, err = e.s.Usage(e.ctx, q)
		e.must(err)
		want = fmt.Sprintf("05-01T00 u%[1]d dc 7; 05-01T00 u%[1]d res 135; 05-01T00 u%[2]d res 20; 05-02T00 u%[1]d res 50; 05-02T00 u%[2]d res 40", u.ID, v.ID)
		if fmtPoints(got) != want {
			t.Fatalf("daily by sub-user:\n got %s\nwant %s", fmtPoints(got), want)
		}
		q.SubUserIDs = []int64{v.ID, w.ID} // w is not in scope
		got, err = e.s.Usage(e.ctx, q)
		e.must(err)
		if want := fmt.Sprintf("05-01T00 u%[1]d res 20; 05-02T00 u%[1]d res 40", v.ID); fmtPoints(got) != want {
			t.Fatalf("daily for v:\n got %s\nwant %s", fmtPoints(got), want)
		}
		// [From, To): the hour at To is out, the hour at From is in.
		got, err = e.s.Usage(e.ctx, subgate.UsageQuery{Scope: subgate.Scope(r.ID), From: h(0, 11), To: h(1, 0), Granularity: subgate.GranularityHour})
		e.must(err)
		if want := "05-01T11 u0 res 20; 05-01T23 u0 res 30"; fmtPoints(got) != want {
			t.Fatalf("range:\n got %s\nwant %s", fmtPoints(got), want)
		}
		// The admin sees every reseller.
		got, err = e.s.Usage(e.ctx, subgate.UsageQuery{From: h(0, 10), To: h(0, 11), Granularity: subgate.GranularityHour})
		e.must(err)
		if want := "05-01T10 u0 dc 7; 05-01T10 u0 res 1104"; fmtPoints(got) != want {
			t.Fatalf("admin:\n got %s\nwant %s", fmtPoints(got), want)
		}
	}},
	{"DaysFollowLocation", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		hour := time.Date(2031, 5, 1, 22, 0, 0, 0, time.UTC)
		e.flush("a", hour, []subgate.UsageItem{use(u.ID, res, hour, 10), use(u.ID, res, hour.Add(-2*time.Hour), 1)}, nil)
		east := time.FixedZone("UTC+3", 3*3600)
		got, err := e.s.Usage(e.ctx, subgate.UsageQuery{Scope: subgate.Scope(r.ID), From: hour.Add(-24 * time.Hour), To: hour.Add(24 * time.Hour),
			Granularity: subgate.GranularityDay, Windows: subgate.Windows{Location: east}})
		e.must(err)
		if len(got) != 2 || !got[0].Time.Equal(time.Date(2031, 5, 1, 0, 0, 0, 0, east)) || got[0].Bytes != 1 ||
			!got[1].Time.Equal(time.Date(2031, 5, 2, 0, 0, 0, 0, east)) || got[1].Bytes != 10 {
			t.Fatalf("days in UTC+3: %s", fmtPoints(got))
		}
	}},
	{"ServiceValidatesQuery", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		p := subgate.Principal{ResellerID: r.ID}
		for _, q := range []subgate.UsageQuery{
			{From: t0, To: t0},
			{From: t0, To: t0.Add(400 * 24 * time.Hour)},
			{From: t0, To: t0.Add(time.Hour), Granularity: "minute"},
			{To: t0},
		} {
			_, err := e.svc.Usage(e.ctx, p, q)
			wantCode(t, err, subgate.EINVALID)
		}
	}},
}

var idempotencyTests = []test{
	{"BeginFinishReplay", func(t *testing.T, e *env) {
		rec := &subgate.IdempotencyRecord{Principal: "reseller:1", Key: "k1", Fingerprint: "POST /x abc"}
		prev, err := e.s.BeginIdempotent(e.ctx, rec)
		if err != nil || prev != nil {
			t.Fatalf("first begin = %+v, %v; want nil", prev, err)
		}
		prev, err = e.s.BeginIdempotent(e.ctx, &subgate.IdempotencyRecord{Principal: "reseller:1", Key: "k1", Fingerprint: "other"})
		e.must(err)
		if prev == nil || prev.Status != 0 || prev.Fingerprint != "POST /x abc" {
			t.Fatalf("pending record = %+v", prev)
		}
		rec.Status, rec.Body = 201, []byte(`{"ok":true}`)
		e.must(e.s.FinishIdempotent(e.ctx, rec))
		prev, err = e.s.BeginIdempotent(e.ctx, &subgate.IdempotencyRecord{Principal: "reseller:1", Key: "k1", Fingerprint: "POST /x abc"})
		e.must(err)
		if prev == nil || prev.Status != 201 || string(prev.Body) != `{"ok":true}` || prev.CreatedAt.IsZero() {
			t.Fatalf("finished record = %+v", prev)
		}
		// Keys are per principal.
		prev, err = e.s.BeginIdempotent(e.ctx, &subgate.IdempotencyRecord{Principal: "admin", Key: "k1", Fingerprint: "y"})
		if err != nil || prev != nil {
			t.Fatalf("same key, other principal = %+v, %v", prev, err)
		}
	}},
}
