package gateway_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// oneRequest opens a tunnel, sends one request over it and closes it at
// once; it returns the refusal code, or "".
func oneRequest(t *testing.T, proxy, user, target string) string {
	t.Helper()
	c, bad := connectVia(t, proxy, user, testPassword, target)
	if bad != nil {
		return bad.Header.Get("X-Subgate-Error")
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	resp, _ := getOver(t, c, target, "/bytes?n=512")
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || len(body) != 512 {
		t.Fatalf("request over the tunnel: %d, %d bytes, %v", resp.StatusCode, len(body), err)
	}
	return ""
}

// A client at max_concurrency 1 that closes each tunnel and opens the next
// at once never has two open, so it is never refused, although its new
// connection often arrives before the gateway has torn the last one down.
func TestSequentialConnectionsAtTheCapAreAdmitted(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 1 })
	proxy := e.gw.ProxyAddr().String()
	for i := range 200 {
		if code := oneRequest(t, proxy, "alice", e.origin.addr); code != "" {
			t.Fatalf("connection %d of a sequential client refused: %s", i, code)
		}
	}
}

// A connection that would really exceed the cap is still refused, once the
// grace has passed without a session ending, and the open one carries on.
func TestConcurrencyRefusedAfterTheGrace(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 1 })
	target := echoOrigin(t)
	proxy := e.gw.ProxyAddr().String()
	held, code := tryTunnel(t, proxy, "alice", target)
	if code != "" {
		t.Fatalf("first connection: %s", code)
	}
	start := time.Now()
	if _, code := tryTunnel(t, proxy, "alice", target); code != subgate.ReasonConcurrency {
		t.Fatalf("second connection: %q", code)
	}
	if waited := time.Since(start); waited < gateway.ConcurrencyGrace {
		t.Fatalf("refused after %v, before the grace of %v", waited, gateway.ConcurrencyGrace)
	}
	if n := e.gw.GraceWaiters(u.ID); n != 0 {
		t.Fatalf("%d connections still counted as waiting", n)
	}
	echoes(t, held)
}

// echoes checks that a tunnel to the echo origin still carries bytes.
func echoes(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(patience))
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("tunnel echo: %q %v", buf, err)
	}
}

// waitingTunnel starts a tunnel that will wait for a slot and returns the
// channel its refusal code ("" when admitted) arrives on, once the gateway
// counts it as waiting.
func waitingTunnel(t *testing.T, e *env, id int64, target string) <-chan string {
	t.Helper()
	before := e.gw.GraceWaiters(id)
	done := make(chan string, 1)
	proxy := e.gw.ProxyAddr().String()
	go func() { done <- connectCode(proxy, "alice", target) }()
	waitFor(t, patience, "the connection to wait for a slot", func() bool { return e.gw.GraceWaiters(id) > before })
	return done
}

// connectCode opens a tunnel and closes it: "" when admitted, the refusal
// code, or what went wrong. It may run on any goroutine.
func connectCode(proxy, user, target string) string {
	c, err := net.DialTimeout("tcp", proxy, patience)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * patience))
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + testPassword))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", target, target, auth)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return resp.Header.Get("X-Subgate-Error")
	}
	return ""
}

func answer(t *testing.T, done <-chan string) string {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(patience):
		t.Fatal("no answer to the waiting connection")
		return ""
	}
}

// A waiting connection is admitted the moment a session of its sub-user
// ends; only as many wait as the cap allows, the rest are refused at once.
func TestWaitingConnectionsAreBoundedAndWokenByAnEnd(t *testing.T) {
	e := newEnv(t)
	e.gw.SetConcurrencyGrace(time.Hour) // only an end or a refusal answers
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 1 })
	target := echoOrigin(t)
	proxy := e.gw.ProxyAddr().String()
	held, code := tryTunnel(t, proxy, "alice", target)
	if code != "" {
		t.Fatalf("first connection: %s", code)
	}
	done := waitingTunnel(t, e, u.ID, target)
	if _, code := tryTunnel(t, proxy, "alice", target); code != subgate.ReasonConcurrency {
		t.Fatalf("a connection beyond the waiters allowed: %q", code)
	}
	if n := e.gw.GraceWaiters(u.ID); n != 1 {
		t.Fatalf("%d connections waiting, want the first still waiting", n)
	}
	held.Close()
	if code := answer(t, done); code != "" {
		t.Fatalf("waiting connection after the open one closed: %s", code)
	}
}

// oneWaitingAtCap is a sub-user at max_concurrency 1 with one tunnel open
// and a second connection waiting (with a grace long enough that only an
// end or a refusal answers it).
func oneWaitingAtCap(t *testing.T) (*env, *subgate.SubUser, <-chan string) {
	t.Helper()
	e := newEnv(t)
	e.gw.SetConcurrencyGrace(time.Hour)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 1 })
	target := echoOrigin(t)
	if _, code := tryTunnel(t, e.gw.ProxyAddr().String(), "alice", target); code != "" {
		t.Fatalf("first connection: %s", code)
	}
	done := waitingTunnel(t, e, u.ID, target)
	return e, u, done
}

// A sub-user disabled while a connection waits has it refused as disabled.
func TestWaitingConnectionOfADisabledSubUser(t *testing.T) {
	e, u, done := oneWaitingAtCap(t)
	disabled := subgate.StatusDisabled
	if _, err := e.svc.UpdateSubUser(context.Background(), admin, u.Hash, subgate.SubUserUpdate{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	if code := answer(t, done); code != subgate.ReasonDisabled {
		t.Fatalf("waiting connection of a disabled sub-user: %q", code)
	}
}

// Shutting down answers a waiting connection at once.
func TestWaitingConnectionAtShutdown(t *testing.T) {
	e, _, done := oneWaitingAtCap(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	e.gw.Shutdown(ctx)
	if code := answer(t, done); code != "shutting_down" {
		t.Fatalf("waiting connection at shutdown: %q", code)
	}
}

// Two nodes on one PostgreSQL database: a client at max_concurrency 1
// alternating between them, closing each tunnel before opening the next,
// is admitted every time once the other node gives its slot back.
func TestSequentialConnectionsAlternatingNodes(t *testing.T) {
	s := sharedPG(t)
	s.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits = subgate.Limits{MaxConcurrency: 1} })
	target := newOrigin(t).addr
	nodes := s.nodeAddrs(2, func(c *gateway.Config) {
		// A slot freed on one node returns to the database well within
		// the other node's grace.
		c.FlushInterval = 20 * time.Millisecond
	})
	for i := range 20 {
		if code := oneRequest(t, nodes[i%2], "alice", target); code != "" {
			t.Fatalf("connection %d, through node %d: %s", i, i%2, code)
		}
	}
}
