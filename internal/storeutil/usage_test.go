package storeutil_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

func TestUsageSeriesFoldsAndOrders(t *testing.T) {
	h := func(n int) time.Time { return time.Date(2026, 3, 1, n, 0, 0, 0, time.UTC) }
	s := storeutil.NewUsageSeries()
	s.Add(h(2), 7, "residential", 5)
	s.Add(h(1), 9, "residential", 1)
	s.Add(h(1), 7, "mobile", 2)
	s.Add(h(1), 7, "residential", 3)
	s.Add(h(1), 7, "residential", 4)
	s.Add(h(3), 7, "residential", 0)
	got := s.Points()
	want := []subgate.UsagePoint{
		{Time: h(1), SubUserID: 7, Product: "mobile", Bytes: 2},
		{Time: h(1), SubUserID: 7, Product: "residential", Bytes: 7},
		{Time: h(1), SubUserID: 9, Product: "residential", Bytes: 1},
		{Time: h(2), SubUserID: 7, Product: "residential", Bytes: 5},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("points\n%v\nwant\n%v", got, want)
	}
}

func TestDayStartFollowsWindowsLocation(t *testing.T) {
	loc := time.FixedZone("UTC+3", 3*3600)
	at := time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC) // already 2 March in loc
	got := storeutil.DayStart(at, subgate.Windows{Location: loc})
	if want := time.Date(2026, 3, 2, 0, 0, 0, 0, loc); !got.Equal(want) || got.Location() != loc {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := storeutil.DayStart(at, subgate.Windows{}); !got.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("no location: got %v", got)
	}
}
