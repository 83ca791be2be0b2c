package gateway_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
)

// pgStore opens a PostgreSQL store on a fresh schema of the test database
// (SUBGATE_TEST_POSTGRES overrides the URL), dropped at the end.
func pgStore(t *testing.T) *postgres.Store {
	t.Helper()
	base := os.Getenv("SUBGATE_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL is unreachable at %s: %v", base, err)
	}
	rnd := make([]byte, 6)
	rand.Read(rnd)
	schema := "gateway_test_" + hex.EncodeToString(rnd)
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	c, _ := secret.New(testKey)
	st, err := postgres.Open(ctx, u.String(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		admin.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close(context.Background())
	})
	return st
}

// Two gateway nodes share one PostgreSQL store: together they never let a
// sub-user past its budget, and a change made through one node's service
// cuts the other node's connections by polling.
func TestTwoNodesShareOneBudget(t *testing.T) {
	st := pgStore(t)
	svc := subgate.NewService(st)
	ctx := context.Background()
	r, err := svc.CreateReseller(ctx, admin, subgate.ResellerCreate{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreditPool(ctx, admin, r.ID, subgate.ProductAny, 10*gb, ""); err != nil {
		t.Fatal(err)
	}
	const budget = 4_000_000
	u, err := svc.CreateSubUser(ctx, admin, r.ID, subgate.SubUserCreate{Username: "alice", Password: testPassword,
		Traffic: map[subgate.Product]int64{subgate.ProductAny: budget}}, "")
	if err != nil {
		t.Fatal(err)
	}
	o := newOrigin(t)
	var nodes []*gateway.Gateway
	for i := range 2 {
		cfg := gateway.Config{ProxyAddr: "127.0.0.1:0", Store: st, Logger: testLogger(), AllowPrivateTargets: true}
		if i == 0 {
			cfg.Service = svc
		}
		gw, err := gateway.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := gw.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			gw.Shutdown(sctx)
		})
		nodes = append(nodes, gw)
	}

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
