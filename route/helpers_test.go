package route

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// origin is a TCP server that greets every connection with the address it
// came from, then echoes.
type origin struct {
	ln    net.Listener
	mu    sync.Mutex
	conns int
}

func startOrigin(t *testing.T) *origin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.mu.Lock()
			o.conns++
			o.mu.Unlock()
			go func() {
				defer c.Close()
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				io.WriteString(c, host+"\n")
				io.Copy(c, c)
			}()
		}
	}()
	return o
}

func (o *origin) addr() string { return o.ln.Addr().String() }

func (o *origin) accepted() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.conns
}

// greeting reads the source address the origin saw and checks the echo.
func greeting(t *testing.T, c net.Conn) string {
	t.Helper()
	ip, err := readGreeting(c)
	if err != nil {
		t.Fatal(err)
	}
	return ip
}

// readGreeting is greeting for goroutines other than the test's.
func readGreeting(c net.Conn) (string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading greeting: %w", err)
	}
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return "", err
	}
	if echo, err := br.ReadString('\n'); err != nil || echo != "ping\n" {
		return "", fmt.Errorf("echo = %q, %v", echo, err)
	}
	return strings.TrimSpace(line), nil
}

// recording is what a test upstream saw of one connection.
type recording struct {
	User, Pass, Target string
}

// testUpstream is a small HTTP CONNECT or SOCKS5 proxy that records the
// credentials and target it was given and relays to the target from its own
// listening address (so an origin sees which upstream it came through).
type testUpstream struct {
	ln         net.Listener
	socks      bool
	status     int  // HTTP answer to give instead of relaying; 0 relays
	rejectAuth bool // SOCKS5: refuse every username/password

	mu   sync.Mutex
	seen []recording
}

func startUpstream(t *testing.T, ip string, socks bool) *testUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	u := &testUpstream{ln: ln, socks: socks}
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

func (u *testUpstream) addr() string { return u.ln.Addr().String() }

func (u *testUpstream) records() []recording {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recording(nil), u.seen...)
}

func (u *testUpstream) last(t *testing.T) recording {
	t.Helper()
	r := u.records()
	if len(r) == 0 {
		t.Fatalf("upstream %s saw no connection", u.addr())
	}
	return r[len(r)-1]
}

func (u *testUpstream) record(r recording) {
	u.mu.Lock()
	u.seen = append(u.seen, r)
	u.mu.Unlock()
}

func (u *testUpstream) serve(c net.Conn) {
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

func (u *testUpstream) httpHandshake(c net.Conn) (string, bool) {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil || req.Method != http.MethodConnect {
		return "", false
	}
	var rec recording
	rec.Target = req.Host
	if auth, ok := strings.CutPrefix(req.Header.Get("Proxy-Authorization"), "Basic "); ok {
		b, _ := base64.StdEncoding.DecodeString(auth)
		rec.User, rec.Pass, _ = strings.Cut(string(b), ":")
	}
	u.record(rec)
	if u.status != 0 {
		io.WriteString(c, "HTTP/1.1 "+strconv.Itoa(u.status)+" "+http.StatusText(u.status)+"\r\nContent-Length: 0\r\n\r\n")
		return "", false
	}
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	return rec.Target, true
}

// socksHandshake speaks the server side of RFC 1928 with RFC 1929 auth.
func (u *testUpstream) socksHandshake(c net.Conn) (string, bool) {
	br := bufio.NewReader(c)
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil || hdr[0] != 5 {
		return "", false
	}
	methods := make([]byte, hdr[1])
	io.ReadFull(br, methods)
	var rec recording
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
		if u.rejectAuth {
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
	if u.status != 0 {
		c.Write([]byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}) // host unreachable
		return "", false
	}
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	return rec.Target, true
}

// deadAddr is a loopback address that refuses connections. A socket is
// bound to it but never listens, so, unlike a closed listener's port, no
// other listener can take the port while the test runs.
func deadAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
