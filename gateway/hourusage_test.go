package gateway_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// Usage settled without the account lock still lands in the hour it was
// copied in, and none is lost when the hour turns during a download.
func TestUsageSplitAcrossTheHour(t *testing.T) {
	// The gateway's clock starts in the middle of an hour (so the wall
	// clock's own hours play no part) and runs at the wall clock's pace;
	// once the download has started it jumps to shortly before the next
	// hour, so the hour turns mid-download however long the set-up took.
	start := time.Now()
	next := start.UTC().Truncate(time.Hour).Add(time.Hour)
	var shift atomic.Int64
	shift.Store(int64(next.Add(-30 * time.Minute).Sub(start)))
	clock := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	e := newEnv(t, func(c *gateway.Config) {
		c.Now = clock
		c.FlushInterval = 100 * time.Millisecond
	})
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatal("refused")
	}
	resp, _ := getOver(t, c, e.origin.addr, "/stream?pace=1")
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	usageIn := func(hour time.Time) int64 {
		pts, err := e.store.Usage(context.Background(), subgate.UsageQuery{
			SubUserIDs: []int64{u.ID}, From: hour, To: hour.Add(time.Hour),
			Granularity: subgate.GranularityHour, Windows: subgate.Windows{},
		})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, p := range pts {
			if p.Time.Equal(hour) {
				n += p.Bytes
			}
		}
		return n
	}
	// Bytes flushed before the jump were settled in the first hour.
	waitFor(t, patience, "usage in the first hour", func() bool { return usageIn(next.Add(-time.Hour)) > 0 })
	shift.Store(int64(next.Sub(time.Now()) - 300*time.Millisecond))
	go io.Copy(io.Discard, resp.Body)
	waitFor(t, patience, "usage in the next hour", func() bool { return usageIn(next) > 0 })
	c.Close()
	waitFor(t, patience, "the tunnel to end", func() bool { return metric(t, e, "subgate_gateway_connections_open", "", "") == 0 })
	e.flush()

	pts, err := e.store.Usage(context.Background(), subgate.UsageQuery{
		SubUserIDs: []int64{u.ID}, From: next.Add(-time.Hour), To: next.Add(time.Hour),
		Granularity: subgate.GranularityHour, Windows: subgate.Windows{},
	})
	if err != nil {
		t.Fatal(err)
	}
	byHour := map[time.Time]int64{}
	var sum int64
	for _, p := range pts {
		byHour[p.Time.UTC()] += p.Bytes
		sum += p.Bytes
	}
	metered := int64(metric(t, e, "subgate_gateway_bytes_total", "direction", "up") +
		metric(t, e, "subgate_gateway_bytes_total", "direction", "down"))
	if byHour[next.Add(-time.Hour).UTC()] == 0 || byHour[next.UTC()] == 0 {
		t.Fatalf("usage by hour %v: want bytes on both sides of %v", byHour, next)
	}
	if used := e.user(u.ID).TotalUsed(); sum != metered || used != metered {
		t.Fatalf("hourly %d, used %d, metered %d", sum, used, metered)
	}
}
