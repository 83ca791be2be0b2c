package gateway_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

const gb = subgate.BytesPerGB

func TestHTTPForwardMetersBothDirections(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c := e.httpClient("alice", testPassword)
	for range 3 { // keep-alive: several requests on one connection
		resp, err := c.Get("http://" + e.origin.addr + "/bytes?n=100000")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != 100000 {
			t.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
	// The last bytes settle just after the client has them.
	waitFor(t, patience, "usage in the store", func() bool {
		return e.user(u.ID).Traffic[subgate.ProductAny].Used >= 300000
	})
	used := e.user(u.ID).Traffic[subgate.ProductAny].Used
	// Three bodies plus request and response headers.
	if used > 300000+3*1024 {
		t.Fatalf("used = %d, want 300000 plus headers", used)
	}
}

func TestConnectTunnel(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("CONNECT refused: %d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
	}
	resp, reqLen := getOver(t, c, e.origin.addr, "/bytes?n=500000")
	n, _ := io.Copy(io.Discard, resp.Body)
	c.Close()
	if n != 500000 {
		t.Fatalf("got %d bytes", n)
	}
	waitFor(t, patience, "usage in the store", func() bool {
		return e.user(u.ID).Traffic[subgate.ProductAny].Used >= 500000+int64(reqLen)
	})
	if used := e.user(u.ID).Traffic[subgate.ProductAny].Used; used > 500000+int64(reqLen)+1024 {
		t.Fatalf("used = %d, more than body, request and headers", used)
	}
}

func TestConnectEarlyBytesReachTarget(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, err := net.Dial("tcp", e.gw.ProxyAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The CONNECT and the first tunnelled request in one write.
	io.WriteString(c, "CONNECT "+e.origin.addr+" HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6cHctc2VjcmV0MQ==\r\n\r\n"+
		"GET /bytes?n=10 HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf []byte
	for !strings.Contains(string(buf), "0123456789") {
		b := make([]byte, 4096)
		n, err := c.Read(b)
		buf = append(buf, b[:n]...)
		if err != nil {
			break
		}
	}
	if !strings.Contains(string(buf), "200 Connection established") || !strings.Contains(string(buf), "0123456789") {
		t.Fatalf("unexpected answer %q", buf)
	}
}

func socksClient(t testing.TB, addr, user, pass string) *http.Client {
	t.Helper()
	var auth *proxy.Auth
	if user != "" {
		auth = &proxy.Auth{User: user, Password: pass}
	}
	d, err := proxy.SOCKS5("tcp", addr, auth, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			return d.(proxy.ContextDialer).DialContext(ctx, network, a)
		},
	}}
}

func TestSOCKS5(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.SOCKSAddr = "127.0.0.1:0" })
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	for _, addr := range []string{e.gw.ProxyAddr().String(), e.gw.SOCKSAddr().String()} {
		c := socksClient(t, addr, "alice", testPassword)
		for _, target := range []string{e.origin.addr, "localhost:" + port(e.origin.addr)} { // IPv4 and domain
			resp, err := c.Get("http://" + target + "/bytes?n=200000")
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n != 200000 {
				t.Fatalf("got %d bytes", n)
			}
		}
	}
	waitFor(t, patience, "usage in the store", func() bool {
		return e.user(u.ID).Traffic[subgate.ProductAny].Used >= 800000
	})
	if _, err := socksClient(t, e.gw.ProxyAddr().String(), "alice", "wrong-pass").Get("http://" + e.origin.addr + "/bytes?n=1"); err == nil {
		t.Fatal("wrong SOCKS5 password accepted")
	}
}

func TestSOCKS5IPv6Target(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.WriteString(c, "hello over v6")
			c.Close()
		}
	}()
	defer ln.Close()
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	d, _ := proxy.SOCKS5("tcp", e.gw.ProxyAddr().String(), &proxy.Auth{User: "alice", Password: testPassword}, proxy.Direct)
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(c)
	if string(b) != "hello over v6" {
		t.Fatalf("got %q", b)
	}
}

func port(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}

func TestWrongPasswordIs407(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	for _, creds := range [][2]string{{"alice", "nope-nope"}, {"nobody", testPassword}, {"", ""}} {
		resp, err := e.httpClient(creds[0], creds[1]).Get("http://" + e.origin.addr + "/bytes?n=1")
		if creds[0] == "" {
			resp, err = (&http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(e.proxyURL("", ""))}}).Get("http://" + e.origin.addr + "/bytes?n=1")
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusProxyAuthRequired || resp.Header.Get("Proxy-Authenticate") == "" ||
			resp.Header.Get("X-Subgate-Error") != subgate.ReasonAuth {
			t.Fatalf("%v: status %d, headers %v", creds, resp.StatusCode, resp.Header)
		}
		_, bad := e.connect(creds[0], creds[1], e.origin.addr)
		if bad == nil || bad.StatusCode != http.StatusProxyAuthRequired {
			t.Fatalf("%v: CONNECT not refused with 407", creds)
		}
	}
}

func TestBadParameterIs400(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	_, bad := e.connect("alice-country-usa", testPassword, e.origin.addr)
	if bad == nil || bad.StatusCode != http.StatusBadRequest || bad.Header.Get("X-Subgate-Error") != subgate.ReasonBadParameter {
		t.Fatalf("got %+v", bad)
	}
	body, _ := io.ReadAll(bad.Body)
	if !strings.Contains(string(body), "country") {
		t.Fatalf("body %q does not name the parameter", body)
	}
	// Wrong password with a bad parameter is still an authentication failure.
	if _, bad := e.connect("alice-country-usa", "wrong-pw", e.origin.addr); bad == nil || bad.StatusCode != 407 {
		t.Fatalf("got %+v", bad)
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t)
	for _, raw := range []string{
		"GET /relative HTTP/1.1\r\nHost: x\r\n\r\n",
		"NONSENSE\r\n\r\n",
		"CONNECT nohostport HTTP/1.1\r\n\r\n",
		"GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
	} {
		c, err := net.Dial("tcp", e.gw.ProxyAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, raw)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		c.Close()
		if !strings.Contains(string(b), "X-Subgate-Error: ") || !(strings.Contains(string(b), " 400 ") || strings.Contains(string(b), " 501 ")) {
			t.Fatalf("%q: answer %q", raw, b)
		}
	}
}

func TestDialFailureIs502(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	dead := deadAddr(t)
	_, bad := e.connect("alice", testPassword, dead)
	if bad == nil || bad.StatusCode != http.StatusBadGateway || bad.Header.Get("X-Subgate-Error") != "dial_refused" {
		t.Fatalf("got %+v", bad)
	}
	d, _ := proxy.SOCKS5("tcp", e.gw.ProxyAddr().String(), &proxy.Auth{User: "alice", Password: testPassword}, proxy.Direct)
	if _, err := d.Dial("tcp", dead); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("SOCKS5 dial to a closed port: %v", err)
	}
}

func TestHopByHopHeadersAreNotForwarded(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, err := net.Dial("tcp", e.gw.ProxyAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET http://"+e.origin.addr+"/headers HTTP/1.1\r\nHost: "+e.origin.addr+"\r\n"+
		"Proxy-Authorization: Basic YWxpY2U6cHctc2VjcmV0MQ==\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"+
		"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	seen := string(body)
	for _, h := range []string{"Proxy-Authorization", "X-Secret", "Keep-Alive", "Proxy-Connection", "Te:"} {
		if strings.Contains(seen, h) {
			t.Errorf("origin received %s:\n%s", h, seen)
		}
	}
	if !strings.Contains(seen, "X-Kept: yes") {
		t.Errorf("end-to-end header lost:\n%s", seen)
	}
	if resp.Close {
		t.Error("keep-alive connection closed after one request")
	}
}

func TestSOCKS5RefusalsCarryReplyCodes(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Status = subgate.StatusDisabled })
	e.createUser("bob", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	dial := func(user, target string) error {
		d, _ := proxy.SOCKS5("tcp", e.gw.ProxyAddr().String(), &proxy.Auth{User: user, Password: testPassword}, proxy.Direct)
		c, err := d.Dial("tcp", target)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial("alice", e.origin.addr); err == nil || !strings.Contains(err.Error(), "not allowed by ruleset") {
		t.Fatalf("disabled sub-user: %v", err)
	}
	if err := dial("bob-country-usa", e.origin.addr); err == nil || !strings.Contains(err.Error(), "not allowed by ruleset") {
		t.Fatalf("bad parameter: %v", err)
	}
}

// An origin that drops kept-alive connections after each answer (without
// saying so) costs the client nothing: the gateway redials.
func TestHTTPForwardRedialsAClosedUpstream(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				http.ReadRequest(bufio.NewReader(c))
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	client := e.httpClient("alice", testPassword)
	for i := range 3 {
		resp, err := client.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond) // let the origin's close arrive
	}
}

// A kept-alive HTTP client whose limit is reached between requests is told
// why.
func TestHTTPForwardExhaustedBetweenRequests(t *testing.T) {
	e := newEnv(t, atNoon) // the daily window must not turn
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c := e.httpClient("alice", testPassword)
	resp, err := c.Get("http://" + e.origin.addr + "/bytes?n=1000")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	waitFor(t, patience, "usage", func() bool { return e.user(u.ID).TotalUsed() >= 1000 })
	limits := subgate.Limits{Daily: 1000}
	if _, err := e.svc.UpdateSubUser(context.Background(), admin, u.Hash, subgate.SubUserUpdate{Limits: &limits}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, patience, "a 402", func() bool {
		resp, err := c.Get("http://" + e.origin.addr + "/bytes?n=1000")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusPaymentRequired && resp.Header.Get("X-Subgate-Error") == subgate.ReasonLimitDaily
	})
}
