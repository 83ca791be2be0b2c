package gateway

import (
	"net/netip"
	"testing"
	"time"
)

func TestAuthLimiterCountsIPv6By64(t *testing.T) {
	now := time.Now()
	l := newAuthLimiter(0.01, 3, 100)
	for _, a := range []string{"2001:db8::1", "2001:db8::2", "2001:db8::ffff:3"} {
		l.failed(netip.MustParseAddr(a), now)
	}
	if !l.blocked(netip.MustParseAddr("2001:db8::99"), 0, now) {
		t.Fatal("another address of the same /64 is not limited")
	}
	if l.blocked(netip.MustParseAddr("2001:db8:0:1::1"), 0, now) {
		t.Fatal("a neighbouring /64 is limited")
	}
	for range 3 {
		l.failed(netip.MustParseAddr("192.0.2.1"), now)
	}
	if !l.blocked(netip.MustParseAddr("192.0.2.1"), 0, now) || !l.blocked(netip.MustParseAddr("::ffff:192.0.2.1"), 0, now) {
		t.Fatal("IPv4 address not limited")
	}
	if l.blocked(netip.MustParseAddr("192.0.2.2"), 0, now) {
		t.Fatal("IPv4 neighbour limited")
	}
}

func TestAuthLimiterNeverEvictsALimitedSource(t *testing.T) {
	now := time.Now()
	const max, burst = 10, 2
	l := newAuthLimiter(0.5, burst, max)
	ip := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }
	for i := range max {
		for range burst {
			l.failed(ip(i), now)
		}
	}
	// A flood of new sources while the map is full of limited ones.
	for i := max; i < max+20; i++ {
		l.failed(ip(i), now)
	}
	for i := range max {
		if !l.blocked(ip(i), 0, now) {
			t.Fatalf("limited source %v was evicted", ip(i))
		}
	}
	// The new sources shared the overflow limiter, which is spent.
	if !l.blocked(ip(200), 0, now) {
		t.Fatal("sources without room are not limited")
	}
	// Once sources are back at full burst, they make room.
	later := now.Add(10 * time.Second)
	l.failed(ip(201), later)
	if _, ok := l.ips[sourceOf(ip(201))]; !ok || len(l.ips) != 1 {
		t.Fatalf("no room made for a new source: %d entries", len(l.ips))
	}
}
