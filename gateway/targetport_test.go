package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// A target port outside 1–65535 is a malformed request (400), not a
// target the gateway failed to reach (502).
func TestBadTargetPortIs400(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	for _, target := range []string{"127.0.0.1:99999", "127.0.0.1:0", "[::1]:65536", "localhost:-1", ":443"} {
		_, bad := e.connect("alice", testPassword, target)
		if bad == nil || bad.StatusCode != http.StatusBadRequest || bad.Header.Get("X-Subgate-Error") != "bad_request" {
			t.Fatalf("CONNECT %s: %+v", target, bad)
		}
	}
	for _, url := range []string{"http://127.0.0.1:99999/", "http://127.0.0.1:0/", "http://localhost:70000/x"} {
		c, err := net.Dial("tcp", e.gw.ProxyAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET "+url+" HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic YWxpY2U6cHctc2VjcmV0MQ==\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(patience))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Subgate-Error") != "bad_request" {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("X-Subgate-Error"))
		}
	}
}

// A SOCKS5 CONNECT to port 0 is refused ("not allowed by ruleset") before
// anything is dialled.
func TestSOCKS5PortZeroIsRefused(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, err := net.Dial("tcp", e.gw.ProxyAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	c.Write(append(socksHello("alice", testPassword), socksConnect(t, "127.0.0.1:0")...))
	got := make([]byte, 2+2+10)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading replies: %v (%x)", err, got)
	}
	if got[1] != 2 || got[3] != 0 || got[4] != 5 || got[5] != 2 {
		t.Fatalf("replies %x, want method 2, auth ok, then reply 0x02", got)
	}
	if rest, _ := io.ReadAll(c); len(rest) != 0 {
		t.Fatalf("more after the refusal: %q", rest)
	}
}
