package gateway_test

import (
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// The distinct-egress count of ip_usage_cap lasts the day window: an idle
// spell that drops the sub-user's in-memory account does not reset it, and
// neither does a restart (the count starts from the store's).
func TestIPUsageCapSurvivesIdleAndRestart(t *testing.T) {
	// The clock starts at noon (the day window must not turn) and is
	// skewed forward to play an idle spell; the restarted gateway and the
	// service share it.
	var skew atomic.Int64
	e := newEnv(t, atNoon, func(c *gateway.Config) {
		c.Dialer = &egressDialer{}
		noon := c.Now
		c.Now = func() time.Time { return noon().Add(time.Duration(skew.Load())) }
	})
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.IPUsageCap = 1 })
	c, bad := e.connect("alice-session-one", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("first egress refused: %s", bad.Header.Get("X-Subgate-Error"))
	}
	resp, _ := getOver(t, c, e.origin.addr, "/bytes?n=1000")
	io.Copy(io.Discard, resp.Body)
	c.Close()
	waitFor(t, patience, "connection closed", func() bool {
		return metric(t, e, "subgate_gateway_connections_open", "", "") == 0
	})
	// Idle for longer than an account is kept: the flush drops it.
	skew.Store(int64(6 * time.Second))
	e.flush()
	e.flush()
	_, bad = e.connect("alice-session-two", testPassword, e.origin.addr)
	if bad == nil || bad.StatusCode != http.StatusForbidden || bad.Header.Get("X-Subgate-Error") != subgate.ReasonIPCap {
		t.Fatalf("second egress after an idle spell: %+v", bad)
	}
	waitFor(t, patience, "egress recorded", func() bool { return e.user(u.ID).Usage.IPsUsed == 1 })
	// A new process starts from the store's count (its default dialer
	// admits the egress "direct", a new key).
	e.restart()
	_, bad = e.connect("alice", testPassword, e.origin.addr)
	if bad == nil || bad.Header.Get("X-Subgate-Error") != subgate.ReasonIPCap {
		t.Fatalf("new egress after a restart: %+v", bad)
	}
}

// Without a cap, egress keys are neither kept nor recorded.
func TestNoIPUsageCapTracksNothing(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.Dialer = &egressDialer{} })
	u := e.createUser("bob", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	for _, user := range []string{"bob-session-one", "bob-session-two", "bob"} {
		c, bad := e.connect(user, testPassword, e.origin.addr)
		if bad != nil {
			t.Fatalf("%s refused: %s", user, bad.Header.Get("X-Subgate-Error"))
		}
		resp, _ := getOver(t, c, e.origin.addr, "/bytes?n=100")
		io.Copy(io.Discard, resp.Body)
		c.Close()
	}
	e.flush()
	if got := e.user(u.ID); got.Usage.IPsUsed != 0 || got.TotalUsed() == 0 {
		t.Fatalf("usage %+v, used %d: want traffic but no egress recorded", got.Usage, got.TotalUsed())
	}
}
