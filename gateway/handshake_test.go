package gateway_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// wireConn counts every byte the client sends and receives.
type wireConn struct {
	net.Conn
	read, written atomic.Int64
}

func (c *wireConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *wireConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// socksHello is a SOCKS5 greeting offering username/password only,
// followed by the credentials (RFC 1929).
func socksHello(user, pass string) []byte {
	b := []byte{5, 1, 2, 1, byte(len(user))}
	b = append(b, user...)
	b = append(b, byte(len(pass)))
	return append(b, pass...)
}

// socksConnect is a SOCKS5 CONNECT request to an IPv4 host:port.
func socksConnect(t testing.TB, hostport string) []byte {
	t.Helper()
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	b := append([]byte{5, 1, 0, 1}, net.ParseIP(host).To4()...)
	return binary.BigEndian.AppendUint16(b, uint16(p))
}

// Every byte between client and gateway is charged, the handshake that
// opens a tunnel included: the usage of a tunnel is exactly what the client
// sent and received.
func TestHandshakeBytesAreMetered(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	const body = 12345
	get := fmt.Sprintf("GET /bytes?n=%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", body, e.origin.addr)
	tunnels := map[string]func(c net.Conn, br *bufio.Reader){
		"connect": func(c net.Conn, br *bufio.Reader) {
			fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic YWxpY2U6cHctc2VjcmV0MQ==\r\n\r\n",
				e.origin.addr, e.origin.addr)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("CONNECT: %v %v", resp, err)
			}
		},
		"socks5": func(c net.Conn, br *bufio.Reader) {
			c.Write(socksHello("alice", testPassword))
			c.Write(socksConnect(t, e.origin.addr))
			replies := make([]byte, 2+2+10)
			if _, err := io.ReadFull(br, replies); err != nil || replies[5] != 0 {
				t.Fatalf("SOCKS5 replies % x: %v", replies, err)
			}
		},
	}
	var want int64
	for name, open := range tunnels {
		raw, err := net.Dial("tcp", e.gw.ProxyAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := &wireConn{Conn: raw}
		c.SetDeadline(time.Now().Add(patience))
		br := bufio.NewReader(c)
		open(c, br)
		io.WriteString(c, get)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n, _ := io.Copy(io.Discard, resp.Body); n != body {
			t.Fatalf("%s: body of %d bytes", name, n)
		}
		if _, err := io.Copy(io.Discard, br); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c.Close()
		want += c.read.Load() + c.written.Load()
		waitFor(t, patience, "the tunnel to end", func() bool { return metric(t, e, "subgate_gateway_connections_open", "", "") == 0 })
		e.flush()
		if used := e.user(u.ID).Traffic[subgate.ProductAny].Used; used != want {
			t.Fatalf("%s: used %d bytes, the client sent and received %d", name, used, want)
		}
	}
}

// A budget too small for the handshake gets a refusal, not a tunnel, and
// is never overdrawn.
func TestHandshakeBeyondTheBudgetIsRefused(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: 50}, nil)
	_, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad == nil || bad.StatusCode != http.StatusPaymentRequired || bad.Header.Get("X-Subgate-Error") != subgate.ReasonTrafficExhausted {
		t.Fatalf("CONNECT with 50 bytes left: %+v", bad)
	}
	waitFor(t, patience, "the session to end", func() bool { return metric(t, e, "subgate_gateway_connections_open", "", "") == 0 })
	e.flush()
	if got := e.user(u.ID).Traffic[subgate.ProductAny]; got.Used != 50 || got.Available != 0 {
		t.Fatalf("traffic after the refusal: %+v, want the 50 bytes used", got)
	}
}
