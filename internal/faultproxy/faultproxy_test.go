package faultproxy_test

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/subgate/subgate/internal/faultproxy"
)

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, p *faultproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends msg and reads the echo within wait; it reports the error.
func roundTrip(c net.Conn, msg string, wait time.Duration) error {
	c.SetDeadline(time.Now().Add(wait))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return errors.New("echo differs: " + string(buf))
	}
	return nil
}

func TestPassHangAndRecover(t *testing.T) {
	p := start(t)
	live := dial(t, p)
	if err := roundTrip(live, "hello", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Set(faultproxy.Hang); err != nil {
		t.Fatal(err)
	}
	fresh := dial(t, p) // accepted, but nothing flows
	for _, c := range []net.Conn{live, fresh} {
		if err := roundTrip(c, "held", 200*time.Millisecond); !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
			t.Fatalf("while hung: %v, want a timeout", err)
		}
	}
	if err := p.Set(faultproxy.Pass); err != nil {
		t.Fatal(err)
	}
	// The bytes held during the hang arrive first.
	for _, c := range []net.Conn{live, fresh} {
		buf := make([]byte, 4)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "held" {
			t.Fatalf("after the hang: %q, %v", buf, err)
		}
		if err := roundTrip(c, "again", 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRefuseCutsAndRefusesUntilPass(t *testing.T) {
	p := start(t)
	live := dial(t, p)
	if err := roundTrip(live, "x", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Set(faultproxy.Refuse); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(live, "y", 5*time.Second); err == nil {
		t.Fatal("a live connection survived Refuse")
	}
	_, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial while refusing: %v, want connection refused", err)
	}
	if err := p.Set(faultproxy.Pass); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(dial(t, p), "back", 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestSlowAndCutLive(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	if err := p.SetSlow(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := roundTrip(c, "slow", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond { // a delay each way
		t.Fatalf("slow round trip took %v", d)
	}
	p.CutLive()
	if err := roundTrip(c, "z", 5*time.Second); err == nil {
		t.Fatal("a cut connection still echoes")
	}
	if err := roundTrip(dial(t, p), "new", 5*time.Second); err != nil {
		t.Fatalf("a new connection after a cut: %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
