package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

const chunk = 64 << 10 // the overshoot bound: one copy chunk

// holdDownload opens a tunnel and reads n body bytes of /hold, which then
// keeps the connection open; it returns the conn and the bytes that crossed
// the gateway so far (handshake, request, response header and body).
func holdDownload(t *testing.T, e *env, user string, n int) (net.Conn, int64) {
	t.Helper()
	c, bad := e.connect(user, testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("CONNECT refused: %d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
	}
	cc := &countingConn{Conn: c}
	resp, reqLen := getOver(t, cc, e.origin.addr, "/hold?n="+strconv.Itoa(n))
	if _, err := io.ReadFull(resp.Body, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	return cc, connectBytes(user, testPassword, e.origin.addr) + int64(reqLen) + cc.read.Load()
}

type countingConn struct {
	net.Conn
	read atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// cutWithin asserts that reading c fails within d. Callers give a
// generous d: the promise is "within a second", but a loaded machine
// under the race detector must not fail the test; the time taken is
// logged.
func cutWithin(t *testing.T, c net.Conn, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(d + 2*time.Second))
	_, err := io.Copy(io.Discard, c)
	took := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v", took)
	}
	if took > d {
		t.Fatalf("connection cut after %v, want within %v", took, d)
	}
	return took
}

func TestChangesCutLiveConnectionsWithin1s(t *testing.T) {
	disabled := subgate.StatusDisabled
	newPass := "changed-pw"
	cases := []struct {
		name   string
		change func(e *env, ref string) error
		reason string
	}{
		{"disable", func(e *env, ref string) error {
			_, err := e.svc.UpdateSubUser(context.Background(), admin, ref, subgate.SubUserUpdate{Status: &disabled})
			return err
		}, subgate.ReasonDisabled},
		{"password", func(e *env, ref string) error {
			_, err := e.svc.UpdateSubUser(context.Background(), admin, ref, subgate.SubUserUpdate{Password: &newPass})
			return err
		}, subgate.ReasonAuth},
		{"delete", func(e *env, ref string) error { return e.svc.DeleteSubUser(context.Background(), admin, ref) },
			subgate.ReasonAuth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
			c, crossed := holdDownload(t, e, "alice", 1<<20)
			defer c.Close()
			if err := tc.change(e, u.Hash); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: connection cut %v after the change", tc.name, cutWithin(t, c, patience))
			// The store charges what crossed the gateway, within one chunk.
			// Steps in flight at the cut settle when the tunnel ends; a
			// flush after that carries every byte metered.
			waitFor(t, patience, "the tunnel to end", func() bool { return metric(t, e, "subgate_gateway_connections_open", "", "") == 0 })
			e.flush()
			used := usedOf(t, e, u.ID)
			t.Logf("%s: used %d, crossed %d", tc.name, used, crossed)
			if d := used - crossed; d < 0 || d > chunk {
				t.Fatalf("used %d, crossed %d", used, crossed)
			}
			_, bad := e.connect("alice", testPassword, e.origin.addr)
			if bad == nil || bad.Header.Get("X-Subgate-Error") != tc.reason {
				t.Fatalf("new connection after %s: %+v", tc.name, bad)
			}
		})
	}
}

// usedOf reads a sub-user's used bytes, deleted ones included (through the
// change feed, which keeps them).
func usedOf(t *testing.T, e *env, id int64) int64 {
	t.Helper()
	us, err := e.store.SubUsersChanged(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.ID == id {
			return u.TotalUsed()
		}
	}
	t.Fatalf("sub-user %d not found", id)
	return 0
}

func TestCapReachedOnParallelConnections(t *testing.T) {
	const budget = 3_000_000
	cases := []struct {
		name   string
		create func(*subgate.SubUserCreate)
		given  int64
		reason string
	}{
		{"balance", nil, budget, subgate.ReasonTrafficExhausted},
		{"daily", func(c *subgate.SubUserCreate) { c.Limits.Daily = budget }, gb, subgate.ReasonLimitDaily},
		{"monthly", func(c *subgate.SubUserCreate) { c.Limits.Monthly = budget }, gb, subgate.ReasonLimitMonthly},
		{"lifetime", func(c *subgate.SubUserCreate) { c.Limits.Lifetime = budget }, gb, subgate.ReasonLimitLifetime},
		{"usage_cap", func(c *subgate.SubUserCreate) { c.Limits.UsageCap = budget }, gb, subgate.ReasonUsageCap},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, atNoon) // the daily and monthly windows must not turn
			u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: tc.given}, tc.create)
			const conns = 6
			var received atomic.Int64
			var wg sync.WaitGroup
			var tunnels []net.Conn
			for range conns {
				c, bad := e.connect("alice", testPassword, e.origin.addr)
				if bad != nil {
					t.Fatalf("CONNECT refused: %s", bad.Header.Get("X-Subgate-Error"))
				}
				tunnels = append(tunnels, c)
			}
			for _, c := range tunnels {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
					received.Add(30) // the request
					c.SetReadDeadline(time.Now().Add(15 * time.Second))
					n, _ := io.Copy(io.Discard, c)
					received.Add(n)
				}()
			}
			wg.Wait()
			t.Logf("%d connections: %d bytes crossed for a budget of %d", conns, received.Load(), budget)
			if got := received.Load(); got > budget+chunk {
				t.Fatalf("%d bytes crossed, budget %d: overshoot %d", got, budget, got-budget)
			}
			var used int64
			deadline := time.Now().Add(patience)
			for used = e.user(u.ID).TotalUsed(); used < budget-chunk; used = e.user(u.ID).TotalUsed() {
				if time.Now().After(deadline) {
					lines, _ := e.store.Audit(context.Background(), e.reseller.ID)
					t.Fatalf("used %d of %d; store: %+v", used, budget, lines[subgate.ProductAny])
				}
				time.Sleep(10 * time.Millisecond)
			}
			if used > budget {
				t.Fatalf("used %d, over budget %d", used, budget)
			}
			_, bad := e.connect("alice", testPassword, e.origin.addr)
			if bad == nil || bad.StatusCode != http.StatusPaymentRequired || bad.Header.Get("X-Subgate-Error") != tc.reason {
				t.Fatalf("new connection: %+v", bad)
			}
			assertAudit(t, e)
		})
	}
}

// assertAudit checks the traffic invariant of the reseller.
func assertAudit(t *testing.T, e *env) {
	t.Helper()
	lines, err := e.store.Audit(context.Background(), e.reseller.ID)
	if err != nil {
		t.Fatal(err)
	}
	for p, l := range lines {
		if l.Pool+l.Available+l.Used != l.Credited-l.Debited {
			t.Fatalf("%s: pool %d + available %d + used %d != credited %d - debited %d", p, l.Pool, l.Available, l.Used, l.Credited, l.Debited)
		}
	}
}

func TestConcurrencyCap(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 2 })
	a, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("first connection refused: %d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
	}
	b, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("second connection refused: %d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
	}
	defer b.Close()
	_, bad = e.connect("alice", testPassword, e.origin.addr)
	if bad == nil || bad.StatusCode != http.StatusTooManyRequests || bad.Header.Get("X-Subgate-Error") != subgate.ReasonConcurrency {
		t.Fatalf("third connection: %+v", bad)
	}
	a.Close()
	waitFor(t, patience, "a free slot", func() bool {
		c, _ := e.connect("alice", testPassword, e.origin.addr)
		if c != nil {
			c.Close()
		}
		return c != nil
	})
}

func TestExpiryCutsLiveConnection(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, _ := holdDownload(t, e, "alice", 100_000)
	defer c.Close()
	// The expiry is set once the download runs, so however slow the set-up
	// the connection is live when the moment comes.
	expires := time.Now().Add(500 * time.Millisecond)
	at := &expires
	if _, err := e.svc.UpdateSubUser(context.Background(), admin, u.Hash, subgate.SubUserUpdate{ExpiresAt: &at}); err != nil {
		t.Fatal(err)
	}
	cutWithin(t, c, time.Until(expires)+patience)
	if time.Now().Before(expires) {
		t.Fatal("cut before expiry")
	}
	_, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad == nil || bad.StatusCode != http.StatusForbidden || bad.Header.Get("X-Subgate-Error") != subgate.ReasonExpired {
		t.Fatalf("after expiry: %+v", bad)
	}
}

func TestIPAllowList(t *testing.T) {
	v6 := true
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		v6 = false
	} else {
		ln.Close()
	}
	opt := func(c *gatewayConfig) {
		if v6 {
			c.HTTPAddr = "[::1]:0"
		}
	}
	e := newEnv(t, opt)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) {
		c.AllowIPs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/16")}
	})
	c, bad := e.connect("", "", e.origin.addr)
	if bad != nil {
		t.Fatalf("allow-listed IP refused: %d", bad.StatusCode)
	}
	resp, _ := getOver(t, c, e.origin.addr, "/bytes?n=1000")
	io.Copy(io.Discard, resp.Body)
	c.Close()
	waitFor(t, patience, "usage", func() bool { return e.user(u.ID).TotalUsed() >= 1000 })
	// SOCKS5 without credentials too.
	resp, err := socksClient(t, e.gw.ProxyAddr().String(), "", "").Get("http://" + e.origin.addr + "/bytes?n=1000")
	if err != nil {
		t.Fatalf("SOCKS5 from an allow-listed IP: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if v6 {
		_, bad := connectVia(t, e.gw.HTTPAddr().String(), "", "", e.origin.addr)
		if bad == nil || bad.StatusCode != http.StatusProxyAuthRequired {
			t.Fatalf("::1 is not allow-listed: %+v", bad)
		}
	}
}

func TestUsageVisibleWhileDownloading(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, _ := e.connect("alice", testPassword, e.origin.addr)
	defer c.Close()
	io.WriteString(c, "GET /stream?pace=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	var got atomic.Int64
	go func() {
		n, _ := io.Copy(io.Discard, c)
		got.Add(n)
	}()
	start := time.Now()
	waitFor(t, patience, "usage while downloading", func() bool { return e.user(u.ID).TotalUsed() > 0 })
	t.Logf("usage visible after %v", time.Since(start))
	// And it keeps growing while the download runs.
	first := e.user(u.ID).TotalUsed()
	waitFor(t, patience, "usage to grow", func() bool { return e.user(u.ID).TotalUsed() > first })
	if got.Load() != 0 {
		t.Fatal("download ended early")
	}
}

func TestGracefulShutdownFlushesEverything(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatal("refused")
	}
	cc := &countingConn{Conn: c}
	var sent int64
	for range 3 {
		resp, n := getOver(t, cc, e.origin.addr, "/bytes?n=700000")
		io.Copy(io.Discard, resp.Body)
		sent += int64(n)
	}
	crossed := connectBytes("alice", testPassword, e.origin.addr) + sent + cc.read.Load()
	// Shut down with the tunnel still open: it is cut, then everything flushes.
	e.restart()
	c.Close()
	got := e.user(u.ID).Traffic[subgate.ProductAny]
	if got.Used != crossed {
		t.Fatalf("used %d after restart, %d bytes crossed", got.Used, crossed)
	}
	lines, err := e.store.Audit(context.Background(), e.reseller.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l := lines[subgate.ProductAny]; l.Leased != 0 {
		t.Fatalf("%d bytes still leased after shutdown", l.Leased)
	}
	assertAudit(t, e)
}
