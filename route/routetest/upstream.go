package routetest

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Recording is what an Upstream saw of one connection.
type Recording struct {
	User, Pass, Target string
}

// Upstream is a small HTTP CONNECT or SOCKS5 proxy on loopback for tests
// of routing: it records the credentials and target it was given and relays
// to the target from its own listening address (so an origin sees which
// upstream it came through). Set Status or RejectAuth before traffic
// arrives.
type Upstream struct {
	ln         net.Listener
	socks      bool
	Status     int  // HTTP answer to give instead of relaying; 0 relays
	RejectAuth bool // SOCKS5: refuse every username/password

	mu   sync.Mutex
	seen []Recording
}

// StartUpstream starts an Upstream listening on ip (a loopback address),
// speaking SOCKS5 when socks is set and HTTP CONNECT otherwise.
func StartUpstream(t testing.TB, ip string, socks bool) *Upstream {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	u := &Upstream{ln: ln, socks: socks}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(c)
		}
	}()
	return u
}

// Addr is the upstream's host:port.
func (u *Upstream) Addr() string { return u.ln.Addr().String() }

// Close stops the upstream accepting connections, as if it went down.
func (u *Upstream) Close() error { return u.ln.Close() }

// Records lists what the upstream saw, oldest first.
func (u *Upstream) Records() []Recording {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Recording(nil), u.seen...)
}

// Last is the latest Recording; the test fails when there is none.
func (u *Upstream) Last(t testing.TB) Recording {
	t.Helper()
	r := u.Records()
	if len(r) == 0 {
		t.Fatalf("upstream %s saw no connection", u.Addr())
	}
	return r[len(r)-1]
}

func (u *Upstream) record(r Recording) {
	u.mu.Lock()
	u.seen = append(u.seen, r)
	u.mu.Unlock()
}

func (u *Upstream) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var target string
	var ok bool
	if u.socks {
		target, ok = u.socksHandshake(c)
	} else {
		target, ok = u.httpHandshake(c)
	}
	if !ok {
		return
	}
	c.SetDeadline(time.Time{})
	local := &net.TCPAddr{IP: u.ln.Addr().(*net.TCPAddr).IP}
	d := net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	out, err := d.Dial("tcp", target)
	if err != nil {
		return
	}
	defer out.Close()
	go func() { io.Copy(out, c); out.(*net.TCPConn).CloseWrite() }()
	io.Copy(c, out)
}

func (u *Upstream) httpHandshake(c net.Conn) (string, bool) {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil || req.Method != http.MethodConnect {
		return "", false
	}
	var rec Recording
	rec.Target = req.Host
	if auth, ok := strings.CutPrefix(req.Header.Get("Proxy-Authorization"), "Basic "); ok {
		b, _ := base64.StdEncoding.DecodeString(auth)
		rec.User, rec.Pass, _ = strings.Cut(string(b), ":")
	}
	u.record(rec)
	if u.Status != 0 {
		io.WriteString(c, "HTTP/1.1 "+strconv.Itoa(u.Status)+" "+http.StatusText(u.Status)+"\r\nContent-Length: 0\r\n\r\n")
		return "", false
	}
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	return rec.Target, true
}

// socksHandshake speaks the server side of RFC 1928 with RFC 1929 auth.
func (u *Upstream) socksHandshake(c net.Conn) (string, bool) {
	br := bufio.NewReader(c)
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil || hdr[0] != 5 {
		return "", false
	}
	methods := make([]byte, hdr[1])
	io.ReadFull(br, methods)
	var rec Recording
	if strings.ContainsRune(string(methods), 2) {
		c.Write([]byte{5, 2})
		v := make([]byte, 2)
		io.ReadFull(br, v)
		user := make([]byte, v[1])
		io.ReadFull(br, user)
		pl, _ := br.ReadByte()
		pass := make([]byte, pl)
		io.ReadFull(br, pass)
		rec.User, rec.Pass = string(user), string(pass)
		if u.RejectAuth {
			u.record(rec)
			c.Write([]byte{1, 1})
			return "", false
		}
		c.Write([]byte{1, 0})
	} else {
		c.Write([]byte{5, 0})
	}
	req := make([]byte, 4)
	if _, err := io.ReadFull(br, req); err != nil || req[1] != 1 {
		return "", false
	}
	var host string
	switch req[3] {
	case 1:
		ip := make([]byte, 4)
		io.ReadFull(br, ip)
		host = net.IP(ip).String()
	case 4:
		ip := make([]byte, 16)
		io.ReadFull(br, ip)
		host = net.IP(ip).String()
	case 3:
		n, _ := br.ReadByte()
		name := make([]byte, n)
		io.ReadFull(br, name)
		host = string(name)
	}
	pb := make([]byte, 2)
	io.ReadFull(br, pb)
	rec.Target = net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(pb))))
	u.record(rec)
	if u.Status != 0 {
		c.Write([]byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}) // host unreachable
		return "", false
	}
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	return rec.Target, true
}
