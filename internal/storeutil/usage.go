package storeutil

import (
	"cmp"
	"slices"
	"time"

	"github.com/subgate/subgate"
)

// UsageSeries folds hourly usage rows into the points of a series. Stores
// sum hours in SQL and fold days here, because days follow the windows'
// time zone, which SQL does not know.
type UsageSeries struct {
	sums  map[usageStep]int64
	times map[int64]time.Time // a step's time, as the store gave it
}

type usageStep struct {
	unix      int64
	subUserID int64
	product   subgate.Product
}

// NewUsageSeries returns an empty series.
func NewUsageSeries() *UsageSeries {
	return &UsageSeries{sums: map[usageStep]int64{}, times: map[int64]time.Time{}}
}

// Add counts n bytes of a sub-user's product in the step starting at t.
func (s *UsageSeries) Add(t time.Time, subUserID int64, p subgate.Product, n int64) {
	k := usageStep{t.Unix(), subUserID, p}
	s.sums[k] += n
	s.times[k.unix] = t
}

// Points are the steps with bytes, in time, sub-user and product order.
func (s *UsageSeries) Points() []subgate.UsagePoint {
	out := make([]subgate.UsagePoint, 0, len(s.sums))
	for k, n := range s.sums {
		if n != 0 {
			out = append(out, subgate.UsagePoint{Time: s.times[k.unix], SubUserID: k.subUserID, Product: k.product, Bytes: n})
		}
	}
	slices.SortFunc(out, func(a, b subgate.UsagePoint) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.SubUserID, b.SubUserID), cmp.Compare(a.Product, b.Product))
	})
	return out
}

// DayStart is the start of t's day in the windows' location (UTC when none).
func DayStart(t time.Time, ws subgate.Windows) time.Time {
	loc := ws.Location
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
