package gateway_test

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// Two gateway nodes share one PostgreSQL store: together they never let a
// sub-user past its budget, and a change made through one node's service
// cuts the other node's connections by polling.
func TestTwoNodesShareOneBudget(t *testing.T) {
	s := sharedPG(t)
	svc := s.svc
	ctx := context.Background()
	const budget = 4_000_000
	u := s.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: budget}, nil)
	o := newOrigin(t)
	// Node 0 has the service, as the node an operator talks to does.
	nodes := []*gateway.Gateway{s.node(s.withService), s.node()}

	var tunnels []net.Conn
	for i := range 6 {
		c, bad := connectVia(t, nodes[i%2].ProxyAddr().String(), "alice", testPassword, o.addr)
		if bad != nil {
			t.Fatalf("CONNECT refused: %s", bad.Header.Get("X-Subgate-Error"))
		}
		tunnels = append(tunnels, c)
	}
	var received atomic.Int64
	var wg sync.WaitGroup
	for _, c := range tunnels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
			received.Add(30)
			c.SetReadDeadline(time.Now().Add(15 * time.Second))
			n, _ := io.Copy(io.Discard, c)
			received.Add(n)
		}()
	}
	wg.Wait()
	t.Logf("two nodes, 6 connections: %d bytes crossed for a budget of %d", received.Load(), budget)
	if got := received.Load(); got > budget+chunk {
		t.Fatalf("overshoot across nodes: %d bytes for a budget of %d", got, budget)
	}

	// Top up, connect through node 1, disable through node 0's service.
	if _, err := svc.Give(ctx, admin, u.Hash, subgate.ProductAny, budget, ""); err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	waitFor(t, patience, "node 1 to see the new traffic", func() bool {
		var bad *httpResponse
		c, bad = connectVia(t, nodes[1].ProxyAddr().String(), "alice", testPassword, o.addr)
		return bad == nil
	})
	defer c.Close()
	resp, _ := getOver(t, c, o.addr, "/hold?n=100000")
	io.ReadFull(resp.Body, make([]byte, 100000))
	disabled := subgate.StatusDisabled
	if _, err := svc.UpdateSubUser(ctx, admin, u.Hash, subgate.SubUserUpdate{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	cutWithin(t, c, patience)
}
