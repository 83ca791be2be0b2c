package gateway_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/proxy"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
	"github.com/subgate/subgate/internal/faultproxy"
	"github.com/subgate/subgate/storetest"
)

// outageAnswer bounds how long a refused connection may wait for its answer
// while the database is down. The promise is 2 s; the bound is generous for
// a loaded machine under the race detector, and still far below the
// minutes of waiting (and the 402 at the end) a hung database once caused.
const outageAnswer = 5 * time.Second

// outage is a gateway node whose store reaches PostgreSQL through a fault
// proxy, and a service that reaches it directly (to set up and to check).
type outage struct {
	*shared
	t      *testing.T
	fault  *faultproxy.Proxy
	gw     *gateway.Gateway
	m      *env // the node's metrics
	origin *origin
}

func newOutage(t *testing.T, opts ...envOption) *outage {
	t.Helper()
	schemaURL, _ := pgSchema(t)
	o := &outage{t: t, shared: sharedStore(t, openPG(t, schemaURL, "")), origin: newOrigin(t)}
	u, _ := url.Parse(schemaURL)
	fp, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fp.Close() })
	o.fault = fp
	u.Host = fp.Addr()
	st := openPG(t, u.String(), "")
	o.m = &env{t: t, reg: prometheus.NewRegistry()}
	onFault := func(c *gateway.Config) { c.Store, c.Registerer = st, o.m.reg }
	o.gw = o.node(append([]envOption{onFault}, opts...)...)
	// The node shuts down (and flushes) against a database that answers.
	t.Cleanup(func() { fp.Set(faultproxy.Pass) })
	return o
}

func (o *outage) set(m faultproxy.Mode) {
	o.t.Helper()
	if err := o.fault.Set(m); err != nil {
		o.t.Fatal(err)
	}
}

// connect opens a tunnel to the origin; a refusal comes back as a response.
func (o *outage) connect(user string) (net.Conn, *http.Response) {
	return connectVia(o.t, o.gw.ProxyAddr().String(), user, testPassword, o.origin.addr)
}

// tunnel opens a tunnel for user once the node admits it (it may not know
// a new sub-user yet, or the database may be recovering); a 402 on the
// way fails the test.
func (o *outage) tunnel(user string) net.Conn {
	o.t.Helper()
	var c net.Conn
	waitFor(o.t, patience, user+"'s tunnel", func() bool {
		var bad *http.Response
		c, bad = o.connect(user)
		if bad != nil && bad.StatusCode == http.StatusPaymentRequired {
			o.t.Fatalf("%s: %s %s", user, bad.Status, bad.Header.Get("X-Subgate-Error"))
		}
		return bad == nil
	})
	return c
}

// refusedUnavailable opens n CONNECTs at once and requires each to be
// refused with 503 unavailable within outageAnswer.
func (o *outage) refusedUnavailable(user string, n int) { o.answered(user, n, false) }

// answered opens n CONNECTs at once and requires each to be answered within
// outageAnswer: refused with 503 unavailable or, where mayAdmit allows,
// admitted on what the node holds.
func (o *outage) answered(user string, n int, mayAdmit bool) {
	o.t.Helper()
	type answer struct {
		code, reason string
		took         time.Duration
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			c, resp := o.connect(user)
			answers[i].took = time.Since(start)
			if c != nil {
				c.Close()
				answers[i].code = "200"
				return
			}
			answers[i].code, answers[i].reason = resp.Status, resp.Header.Get("X-Subgate-Error")
			if resp.Header.Get("Retry-After") == "" {
				answers[i].reason += " (without Retry-After)"
			}
		}()
	}
	wg.Wait()
	for i, a := range answers {
		o.t.Logf("CONNECT %d while the database is %s: %s %s after %v", i, o.fault.Mode(), a.code, a.reason, a.took.Round(time.Millisecond))
		if (a.code != "503 Service Unavailable" || a.reason != "unavailable") && (!mayAdmit || a.code != "200") {
			o.t.Errorf("CONNECT %d: %s %s, want 503 unavailable", i, a.code, a.reason)
		}
		if a.took > outageAnswer {
			o.t.Errorf("CONNECT %d answered after %v, want within %v", i, a.took, outageAnswer)
		}
	}
}

// socksRefusedUnavailable requires a SOCKS5 connection to be refused with
// a general failure (the reply code of "unavailable") within outageAnswer.
func (o *outage) socksRefusedUnavailable(user string) {
	o.t.Helper()
	d, err := proxy.SOCKS5("tcp", o.gw.ProxyAddr().String(), &proxy.Auth{User: user, Password: testPassword}, proxy.Direct)
	if err != nil {
		o.t.Fatal(err)
	}
	start := time.Now()
	c, err := d.Dial("tcp", o.origin.addr)
	took := time.Since(start)
	if err == nil {
		c.Close()
	}
	o.t.Logf("SOCKS5 while the database is %s: %v after %v", o.fault.Mode(), err, took.Round(time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "general SOCKS server failure") {
		o.t.Errorf("SOCKS5 connection: %v, want a general failure", err)
	}
	if took > outageAnswer {
		o.t.Errorf("SOCKS5 connection answered after %v, want within %v", took, outageAnswer)
	}
}

// stored is the bytes used by the sub-users, as the database holds them;
// each one's used and available bytes must still add up to what it was
// given.
func (o *outage) stored(users ...*subgate.SubUser) int64 {
	o.t.Helper()
	var n int64
	for _, u := range users {
		fresh, err := o.svc.SubUser(context.Background(), admin, u.Hash)
		if err != nil {
			o.t.Fatal(err)
		}
		if got, want := fresh.TotalUsed()+fresh.TotalAvailable(), u.TotalAvailable(); got != want {
			o.t.Errorf("%s: used %d + available %d = %d, was given %d", u.Username, fresh.TotalUsed(), fresh.TotalAvailable(), got, want)
		}
		n += fresh.TotalUsed()
	}
	return n
}

// settled waits for every tunnel to end and for a flush to succeed, then
// requires the database to hold exactly the bytes the node metered, at
// least those that crossed, and the reseller's balances to add up.
func (o *outage) settled(crossed int64, users ...*subgate.SubUser) {
	o.t.Helper()
	waitFor(o.t, patience, "the tunnels to end", func() bool {
		return metric(o.t, o.m, "subgate_gateway_connections_open", "", "") == 0
	})
	waitFor(o.t, patience, "a flush to succeed", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return o.gw.Flush(ctx) == nil
	})
	metered := int64(metric(o.t, o.m, "subgate_gateway_bytes_total", "", ""))
	used := o.stored(users...)
	o.t.Logf("crossed %d bytes, metered %d, stored as used %d", crossed, metered, used)
	if used != metered {
		o.t.Errorf("stored %d bytes as used, metered %d: usage lost or counted twice", used, metered)
	}
	if crossed > metered {
		o.t.Errorf("%d bytes crossed, only %d metered", crossed, metered)
	}
	storetest.CheckInvariant(o.t, o.store, o.reseller.ID)
}

// fetchOver reads n bytes from the origin over the tunnel; the bytes that
// crossed are added to crossed. It reports whether the tunnel still works.
func fetchOver(c net.Conn, target string, n int, crossed *int64) bool {
	cc := &countingConn{Conn: c}
	c.SetDeadline(time.Now().Add(patience))
	defer c.SetDeadline(time.Time{})
	req := "GET /bytes?n=" + strconv.Itoa(n) + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return false
	}
	resp, err := http.ReadResponse(bufio.NewReader(cc), nil)
	if err == nil {
		// An answer proves the request crossed; a cut tunnel may have
		// dropped it unrelayed.
		*crossed += int64(len(req))
		_, err = io.Copy(io.Discard, resp.Body)
	}
	*crossed += cc.read.Load()
	return err == nil
}

// A database that hangs or refuses never makes the gateway say a sub-user
// with traffic has none: new connections that need the store hear 503
// unavailable quickly, open tunnels run on the lease the node holds until it
// ends and are then cut for unavailable, and everything recovers without a
// restart, with every byte counted once.
func TestDatabaseOutageAnswersUnavailable(t *testing.T) {
	for _, mode := range []faultproxy.Mode{faultproxy.Hang, faultproxy.Refuse} {
		t.Run(mode.String(), func(t *testing.T) {
			const ttl = 3 * time.Second
			o := newOutage(t, func(c *gateway.Config) { c.LeaseTTL = ttl })
			alice := o.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: 3 * gb}, nil)
			bob := o.createUser("bob", map[subgate.Product]int64{subgate.ProductAny: 3 * gb}, nil)
			// Carol's connections need a connection slot from the store too.
			carol := o.createUser("carol", map[subgate.Product]int64{subgate.ProductAny: 3 * gb},
				func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 5 })
			var crossed int64
			live := o.tunnel("alice")
			defer live.Close()
			if !fetchOver(live, o.origin.addr, 200_000, &crossed) {
				t.Fatal("tunnel failed before the outage")
			}
			carolsFirst := o.tunnel("carol")

			o.set(mode)
			outageStart := time.Now()
			// Carol's node now gives her slot back, which the database
			// does not answer: her next connection must not wait for that.
			carolsFirst.Close()
			// Alice's open tunnel runs on the lease the node holds.
			if !fetchOver(live, o.origin.addr, 50_000, &crossed) {
				t.Fatal("the open tunnel stopped at once instead of running on its held lease")
			}
			// Bob holds no lease: his connections need the store. Carol's
			// may find her slot still held, or need one from the store.
			o.refusedUnavailable("bob", 4)
			o.refusedUnavailable("bob", 4)
			o.answered("carol", 2, true)
			o.socksRefusedUnavailable("bob")
			// Once the held lease's TTL ends, the tunnel is cut for
			// unavailable.
			ran := 1
			for fetchOver(live, o.origin.addr, 50_000, &crossed) {
				ran++
				if time.Since(outageStart) > ttl+patience {
					t.Fatalf("tunnel still running %v into the outage, past its lease", time.Since(outageStart))
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("open tunnel ran %d requests for %v on its held lease", ran, time.Since(outageStart).Round(time.Millisecond))
			if n := metric(t, o.m, "subgate_gateway_connections_cut_total", "reason", "unavailable"); n < 1 {
				t.Errorf("%v tunnels cut for unavailable, want the open one", n)
			}
			if n := metric(t, o.m, "subgate_gateway_connections_cut_total", "reason", subgate.ReasonTrafficExhausted); n != 0 {
				t.Errorf("%v tunnels cut for %s during the outage", n, subgate.ReasonTrafficExhausted)
			}

			o.set(faultproxy.Pass)
			back := o.tunnel("bob")
			if !fetchOver(back, o.origin.addr, 300_000, &crossed) {
				t.Fatal("tunnel failed after recovery")
			}
			back.Close()
			o.settled(crossed, alice, bob, carol)
		})
	}
}

// A database whose connections are cut mid-answer or slowed down costs no
// usage and counts none twice: a flush whose answer was lost is sent again
// with the same batch, and new connections are either admitted or refused
// for unavailable, never for an exhausted budget.
func TestDatabaseCutsAndSlownessCountUsageOnce(t *testing.T) {
	o := newOutage(t)
	alice := o.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: 3 * gb}, nil)
	var crossed int64
	live := o.tunnel("alice")
	defer live.Close()
	// Each phase streams through the open tunnel and opens new ones while
	// the database misbehaves; the count of rounds bounds the test.
	phases := []struct {
		name  string
		fault func()
	}{
		{"cut", o.fault.CutLive},
		{"slow", func() {
			if err := o.fault.SetSlow(20 * time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}},
		{"cut while slow", o.fault.CutLive},
	}
	for _, ph := range phases {
		for round := range 5 {
			ph.fault()
			if !fetchOver(live, o.origin.addr, 100_000, &crossed) {
				t.Fatalf("%s, round %d: the open tunnel failed", ph.name, round)
			}
			c, bad := o.connect("alice")
			if bad != nil {
				if bad.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("%s, round %d: %s %s, want 200 or 503", ph.name, round, bad.Status, bad.Header.Get("X-Subgate-Error"))
				}
				continue
			}
			if !fetchOver(c, o.origin.addr, 50_000, &crossed) {
				t.Fatalf("%s, round %d: a new tunnel failed", ph.name, round)
			}
			c.Close()
			time.Sleep(50 * time.Millisecond) // let a flush start, to be cut next round
		}
	}
	o.set(faultproxy.Pass)
	live.Close()
	o.settled(crossed, alice)
	t.Logf("%v flushes failed and were sent again, %v lease requests failed",
		metric(t, o.m, "subgate_gateway_flush_failures_total", "", ""),
		metric(t, o.m, "subgate_gateway_lease_acquisitions_total", "result", "error"))
}
