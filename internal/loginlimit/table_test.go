package loginlimit

import (
	"testing"
	"time"
)

func TestTableNeverDropsALimitedKey(t *testing.T) {
	now := time.Now()
	const max, burst = 10, 2
	tb := newTable[int](Rate{Burst: burst, Every: 2 * time.Second}, max)
	for k := range max {
		tb.bucket(k, now).AllowN(now, burst)
	}
	// A flood of new keys while the table is full of limited ones.
	for k := max; k < max+20; k++ {
		tb.bucket(k, now).AllowN(now, 1)
	}
	for k := range max {
		if tb.bucket(k, now).TokensAt(now) >= 1 {
			t.Fatalf("limited key %d was dropped", k)
		}
	}
	// The new keys shared the overflow bucket, which is spent.
	if tb.bucket(200, now).TokensAt(now) >= 1 {
		t.Fatal("keys without room are not limited")
	}
	// Once buckets are full again, they make room.
	later := now.Add(10 * time.Second)
	tb.bucket(201, later)
	if _, ok := tb.buckets[201]; !ok || len(tb.buckets) != 1 {
		t.Fatalf("no room made for a new key: %d entries", len(tb.buckets))
	}
}
