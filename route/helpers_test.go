package route

import (
	"bufio"
	"fmt"
	"io"
	"net"
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
