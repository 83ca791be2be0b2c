package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// recordingDialer dials directly and remembers what the gateway asked for.
type recordingDialer struct {
	subgate.DirectDialer
	mu   sync.Mutex
	reqs []subgate.DialRequest
}

func (d *recordingDialer) Dial(ctx context.Context, r subgate.DialRequest) (net.Conn, error) {
	d.mu.Lock()
	d.reqs = append(d.reqs, r)
	d.mu.Unlock()
	return d.DirectDialer.Dial(ctx, r)
}

func (d *recordingDialer) last() subgate.DialRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reqs[len(d.reqs)-1]
}

func TestTargetingParametersReachTheDialer(t *testing.T) {
	d := &recordingDialer{}
	e := newEnv(t, func(c *gateway.Config) { c.Dialer = d })
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductResidential: gb}, nil)
	c, bad := e.connect("alice-product-res-country-uk-session-abc123-ttl-10m", testPassword+"_city-london", e.origin.addr)
	if bad != nil {
		t.Fatalf("refused: %s", bad.Header.Get("X-Subgate-Error"))
	}
	resp, _ := getOver(t, c, e.origin.addr, "/bytes?n=50000")
	io.Copy(io.Discard, resp.Body)
	c.Close()
	want := subgate.Target{Product: subgate.ProductResidential, Country: "gb", City: "london", Session: "abc123", SessionTTL: 10 * time.Minute}
	if got := d.last(); got.Target != want || got.Address != e.origin.addr || got.SubUser.ID != u.ID {
		t.Fatalf("dial request %+v, want target %+v", got, want)
	}
	// The residential balance pays; "*" is untouched.
	waitFor(t, patience, "usage on res", func() bool {
		return e.user(u.ID).Traffic[subgate.ProductResidential].Used >= 50000
	})
	// Without a product the default ("*") is charged, and alice has none.
	_, bad = e.connect("alice", testPassword, e.origin.addr)
	if bad == nil || bad.Header.Get("X-Subgate-Error") != subgate.ReasonTrafficExhausted {
		t.Fatalf("no-product connection: %+v", bad)
	}
	// Conflicting parameters between username and password.
	_, bad = e.connect("alice-country-us", testPassword+"_country-de", e.origin.addr)
	if bad == nil || bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("conflict: %+v", bad)
	}
}

// Each provider's proxy string authenticates over every protocol (CONNECT,
// plain HTTP, SOCKS5) and reaches the dialer as the targeting it means.
func TestProviderSyntaxesOverEveryProtocol(t *testing.T) {
	d := &recordingDialer{}
	e := newEnv(t, func(c *gateway.Config) { c.Dialer = d; c.SOCKSAddr = "127.0.0.1:0" })
	e.createUser("carol", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	sticky := subgate.Target{Product: subgate.ProductResidential, Country: "us", Session: "abcd1234"}
	for _, c := range []struct {
		syntax, user, pass string
		want               subgate.Target
	}{
		{"NetNut", "carol-res-us-sid-abcd1234", testPassword, sticky},
		{"IPRoyal", "carol-product-res", testPassword + "_country-us_session-abcd1234_streaming-1", sticky},
		{"9Proxy", "carol-type-res-country-us-ssid-abcd1234", testPassword, sticky},
		{"Oxylabs", "customer-carol-cc-US-sessid-abcd1234-sesstime-30", testPassword,
			subgate.Target{Product: subgate.ProductAny, Country: "us", Session: "abcd1234", SessionTTL: 30 * time.Minute}}, // the default product
	} {
		get := map[string]func() error{
			"CONNECT": func() error {
				conn, bad := e.connect(c.user, c.pass, e.origin.addr)
				if bad != nil {
					return fmt.Errorf("%d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
				}
				return conn.Close()
			},
			"HTTP":   func() error { return fetch(e.httpClient(c.user, c.pass), e.origin.addr) },
			"SOCKS5": func() error { return fetch(socksClient(t, e.gw.SOCKSAddr().String(), c.user, c.pass), e.origin.addr) },
		}
		for proto, do := range get {
			if err := do(); err != nil {
				t.Errorf("%s over %s: %v", c.syntax, proto, err)
				continue
			}
			if got := d.last().Target; got != c.want {
				t.Errorf("%s over %s reached the dialer as %+v, want %+v", c.syntax, proto, got, c.want)
			}
		}
	}
}

// fetch gets a few bytes from the origin through a proxy client.
func fetch(c *http.Client, origin string) error {
	resp, err := c.Get("http://" + origin + "/bytes?n=10")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s", resp.Status, resp.Header.Get("X-Subgate-Error"))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func TestStarBalanceBacksEveryProduct(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, bad := e.connect("alice-product-dc", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("refused: %s", bad.Header.Get("X-Subgate-Error"))
	}
	resp, _ := getOver(t, c, e.origin.addr, "/bytes?n=50000")
	io.Copy(io.Discard, resp.Body)
	c.Close()
	waitFor(t, patience, "usage on *", func() bool { return e.user(u.ID).Traffic[subgate.ProductAny].Used >= 50000 })
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.AuthFailureBurst = 3; c.AuthFailuresPerSecond = 0.01 })
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	e.createUser("bob", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	// alice connected before the attack from the same address.
	c, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatal("alice refused")
	}
	c.Close()
	var last string
	for range 6 {
		_, bad := e.connect("mallory", "guess-guess", e.origin.addr)
		last = bad.Header.Get("X-Subgate-Error")
	}
	if last != "auth_rate_limited" {
		t.Fatalf("after repeated failures: %s", last)
	}
	// Even the right password of another user is not tested from here now.
	if _, bad := e.connect("bob", testPassword, e.origin.addr); bad == nil || bad.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("bob from a blocked address: %+v", bad)
	}
	// Nor alice's, although she logged in from here before: a success buys
	// no exemption from the address's bound.
	if _, bad := e.connect("alice", testPassword, e.origin.addr); bad == nil || bad.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("alice from a blocked address: %+v", bad)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, _ := e.connect("alice", testPassword, e.origin.addr)
	resp, _ := getOver(t, c, e.origin.addr, "/bytes?n=100000")
	io.Copy(io.Discard, resp.Body)
	c.Close()
	e.connect("alice", "wrong-pw", e.origin.addr)
	waitFor(t, patience, "bytes and a flush in the metrics", func() bool {
		return metric(t, e, "subgate_gateway_bytes_total", "direction", "down") >= 100000 &&
			metric(t, e, "subgate_gateway_flush_seconds", "", "") > 0
	})
	for _, m := range []struct{ name, label, value string }{
		{"subgate_gateway_connections_total", "protocol", "connect"},
		{"subgate_gateway_connections_refused_total", "reason", "auth_failed"},
		{"subgate_gateway_auth_failures_total", "", ""},
		{"subgate_gateway_lease_acquisitions_total", "result", "granted"},
	} {
		if v := metric(t, e, m.name, m.label, m.value); v < 1 {
			t.Errorf("%s{%s=%q} = %v", m.name, m.label, m.value, v)
		}
	}
	waitFor(t, patience, "no open connections", func() bool {
		return metric(t, e, "subgate_gateway_connections_open", "", "") == 0
	})
}

// metric sums the counter values (or histogram sample counts) of a family,
// optionally only the series with label=value.
func metric(t *testing.T, e *env, name, label, value string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					ok = true
				}
			}
			if !ok {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

// egressDialer admits a new egress key on every dial, like a router
// rotating exit IPs, unless the session parameter pins one.
type egressDialer struct {
	subgate.DirectDialer
	mu sync.Mutex
	n  int
}

func (d *egressDialer) Dial(ctx context.Context, r subgate.DialRequest) (net.Conn, error) {
	d.mu.Lock()
	d.n++
	key := "ip" + string(rune('0'+d.n))
	d.mu.Unlock()
	if r.Target.Session != "" {
		key = "session-" + r.Target.Session
	}
	if err := r.Admit(key); err != nil {
		return nil, err
	}
	return d.DialContext(ctx, r.Network, r.Address)
}

func TestIPUsageCap(t *testing.T) {
	e := newEnv(t, atNoon, func(c *gateway.Config) { c.Dialer = &egressDialer{} }) // the day window must not turn
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.IPUsageCap = 1 })
	c, bad := e.connect("alice-session-one", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("first egress refused: %s", bad.Header.Get("X-Subgate-Error"))
	}
	resp, _ := getOver(t, c, e.origin.addr, "/bytes?n=1000") // usage sets the stored day window
	io.Copy(io.Discard, resp.Body)
	c.Close()
	if c, bad = e.connect("alice-session-one", testPassword, e.origin.addr); bad != nil {
		t.Fatalf("the same egress again refused: %s", bad.Header.Get("X-Subgate-Error"))
	}
	c.Close()
	_, bad = e.connect("alice-session-two", testPassword, e.origin.addr)
	if bad == nil || bad.StatusCode != http.StatusForbidden || bad.Header.Get("X-Subgate-Error") != subgate.ReasonIPCap {
		t.Fatalf("second egress: %+v", bad)
	}
	waitFor(t, patience, "egress recorded", func() bool { return e.user(u.ID).Usage.IPsUsed == 1 })
}

func TestDefaultDialerRefusesPrivateTargets(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.AllowPrivateTargets = false })
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	for _, target := range []string{e.origin.addr, "localhost:" + port(e.origin.addr), "[::1]:80", "10.1.2.3:80", "169.254.169.254:80"} {
		_, bad := e.connect("alice", testPassword, target)
		if bad == nil || bad.StatusCode != http.StatusForbidden || bad.Header.Get("X-Subgate-Error") != "target_not_allowed" {
			t.Fatalf("%s: %+v", target, bad)
		}
	}
}

// A password stored before passwords holding "_word-" were refused still
// proves itself, alone or with IPRoyal-style settings after it: the gateway
// splits where the stored password ends, not at the first "_word-".
func TestLegacyPasswordWithSettingsLikePart(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	legacy := "Summer_Sale-2024"
	// Straight into the store: the service refuses such passwords today.
	if _, err := e.store.UpdateSubUser(context.Background(), subgate.Scope(u.ResellerID), u.ID,
		subgate.SubUserUpdate{Password: &legacy}, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.restart()
	for _, pass := range []string{legacy, legacy + "_country-us", legacy + "_session-abcd1234_lifetime-30m"} {
		c, bad := e.connect("alice", pass, e.origin.addr)
		if bad != nil {
			t.Fatalf("%q refused: %d %s", pass, bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
		}
		c.Close()
	}
	for _, pass := range []string{"Summer", "Summer_Sale-2025", legacy + "x"} {
		if _, bad := e.connect("alice", pass, e.origin.addr); bad == nil || bad.Header.Get("X-Subgate-Error") != subgate.ReasonAuth {
			t.Fatalf("%q: want %s, got %+v", pass, subgate.ReasonAuth, bad)
		}
	}
}
