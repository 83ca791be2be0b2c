package gateway_test

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// A cut tunnel ends with a reset, a tunnel whose target finished with a
// clean end of stream: the client can tell the two apart.
func TestCutEndsWithResetNormalEndWithEOF(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)

	c, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("CONNECT refused: %d", bad.StatusCode)
	}
	io.WriteString(c, "GET /bytes?n=1000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(patience))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("normal end: read error %v, want a clean end of stream", err)
	}
	c.Close()

	c, _ = holdDownload(t, e, "alice", 1000)
	defer c.Close()
	disabled := subgate.StatusDisabled
	if _, err := e.svc.UpdateSubUser(context.Background(), admin, u.Hash, subgate.SubUserUpdate{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("cut: read error %v, want a connection reset", err)
	}
}

// A tunnel that runs out of traffic mid-download is cut with a reset too.
func TestExhaustedTunnelEndsWithReset(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: 300_000}, nil)
	c, bad := e.connect("alice", testPassword, e.origin.addr)
	if bad != nil {
		t.Fatalf("CONNECT refused: %d", bad.StatusCode)
	}
	defer c.Close()
	io.WriteString(c, "GET /bytes?n=1000000 HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(patience))
	n, err := io.Copy(io.Discard, c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("exhausted after %d bytes: read error %v, want a connection reset", n, err)
	}
}
