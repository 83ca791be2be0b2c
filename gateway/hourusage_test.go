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
	next := time.Now().Truncate(time.Hour).Add(time.Hour)
	// The gateway's clock runs true until the download has started, then
	// jumps to shortly before the next hour, so the hour turns mid-download
	// however long the set-up took.
	var shift atomic.Int64
	e := newEnv(t, func(c *gateway.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
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
	time.Sleep(300 * time.Millisecond) // copy steps last at most 100 ms: these bytes settle in the true hour
	shift.Store(int64(next.Sub(time.Now()) - 300*time.Millisecond))
	go io.Copy(io.Discard, resp.Body)
	time.Sleep(1200 * time.Millisecond)
	c.Close()
	waitFor(t, 3*time.Second, "the tunnel to end", func() bool { return metric(t, e, "subgate_gateway_connections_open", "", "") == 0 })
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
