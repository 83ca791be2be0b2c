package gateway_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// An admission waiting on the store for a slot when a shutdown runs out of
// time and cuts every connection is not let through afterwards: nothing
// would cut it, and the shutdown would wait on it for as long as the
// client keeps it open.
func TestAdmissionFinishingAfterTheShutdownCutIsRefused(t *testing.T) {
	st := &stalledSlotStore{stalled: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(c *gateway.Config) {
		st.Store = c.Store
		c.Store = st
	})
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 2 })
	target := echoOrigin(t)
	proxy := e.gw.ProxyAddr().String()
	first, code := tryTunnel(t, proxy, "alice", target)
	if code != "" {
		t.Fatalf("first connection: %s", code)
	}
	st.arm.Store(true)
	second := make(chan string, 1)
	go func() { second <- connectCode(proxy, "alice", target) }()
	select {
	case <-st.stalled:
	case <-time.After(patience):
		t.Fatal("the second connection never asked the store for a slot")
	}

	// The shutdown's grace ends at once: it cuts the open tunnel (with a
	// reset, as every cut).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- e.gw.Shutdown(ctx) }()
	first.SetReadDeadline(time.Now().Add(patience))
	_, err := first.Read(make([]byte, 1))
	close(st.release)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the open tunnel was not cut by the shutdown: %v", err)
	}
	if code := answer(t, second); code != "shutting_down" {
		t.Fatalf("connection admitted after the shutdown cut: %q", code)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(patience):
		t.Fatal("the shutdown did not finish")
	}
}
