package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/ninep"
	"github.com/subgate/subgate/gateway"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
)

// sharedSQLite is a shared store on a fresh SQLite file.
func sharedSQLite(t testing.TB) *shared {
	t.Helper()
	c, _ := secret.New(testKey)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "subgate.db"), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return sharedStore(t, st)
}

// Shared sub-users of one reseller draw on its pool together: under 8
// parallel connections of 3 of them, on one node or two sharing
// PostgreSQL, they use the pool exactly; then every one of them, an idle
// tunnel included, is refused, and a credit lets them in again.
func TestSharedPoolRunsDryExactly(t *testing.T) {
	cases := []struct {
		name  string
		open  func(t testing.TB) *shared
		nodes int
	}{
		{"sqlite", sharedSQLite, 1},
		{"postgres", sharedPG, 1},
		{"postgres two nodes", sharedPG, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { sharedPoolRunsDry(t, tc.open(t), tc.nodes) })
	}
}

func sharedPoolRunsDry(t *testing.T, s *shared, nodeCount int) {
	ctx := context.Background()
	const pool = 6_000_000
	// Leave exactly pool bytes of the 10 GB credited.
	if _, err := s.svc.CreditPool(ctx, admin, s.reseller.ID, subgate.ProductAny, -(10*gb - pool), ""); err != nil {
		t.Fatal(err)
	}
	shared := func(c *subgate.SubUserCreate) { c.Funding = subgate.FundingShared }
	names := []string{"ann", "ben", "cat"}
	var ids []int64
	for _, n := range names {
		ids = append(ids, s.createUser(n, nil, shared).ID)
	}
	s.createUser("idle", nil, shared)
	o := newOrigin(t)
	var nodes []*gateway.Gateway
	for i := range nodeCount {
		opts := []envOption{}
		if i == 0 {
			opts = append(opts, s.withService)
		}
		if ch, ok := s.store.(*postgres.Store); ok {
			opts = append(opts, func(c *gateway.Config) { c.Changes = ch })
		}
		nodes = append(nodes, s.node(opts...))
	}
	idle, bad := connectVia(t, nodes[len(nodes)-1].ProxyAddr().String(), "idle", testPassword, o.addr)
	if bad != nil {
		t.Fatalf("idle CONNECT refused: %s", bad.Header.Get("X-Subgate-Error"))
	}
	defer idle.Close()

	var tunnels []net.Conn
	for i := range 8 {
		c, bad := connectVia(t, nodes[i%nodeCount].ProxyAddr().String(), names[i%3], testPassword, o.addr)
		if bad != nil {
			t.Fatalf("CONNECT %d refused: %s", i, bad.Header.Get("X-Subgate-Error"))
		}
		tunnels = append(tunnels, c)
	}
	var received atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range tunnels {
		wg.Go(func() {
			defer c.Close()
			<-start
			io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
			received.Add(30)
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			n, _ := io.Copy(io.Discard, c)
			received.Add(n)
		})
	}
	close(start)
	wg.Wait()
	for _, n := range nodes {
		if err := n.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var used int64
	for _, id := range ids {
		u, err := s.store.SubUser(ctx, 0, strconv.FormatInt(id, 10))
		if err != nil {
			t.Fatal(err)
		}
		used += u.TotalUsed()
	}
	t.Logf("%d node(s), 8 connections of 3 shared sub-users: %d bytes crossed, %d used, pool %d", nodeCount, received.Load(), used, pool)
	if used < pool-chunk || used > pool || received.Load() > pool+chunk {
		t.Fatalf("used %d, received %d for a pool of %d", used, received.Load(), pool)
	}
	cutWithin(t, idle, patience)
	if _, bad := connectVia(t, nodes[0].ProxyAddr().String(), "ann", testPassword, o.addr); bad == nil ||
		bad.StatusCode != 402 || bad.Header.Get("X-Subgate-Error") != subgate.ReasonTrafficExhausted {
		t.Fatalf("CONNECT on a dry pool was not refused traffic_exhausted: %v", bad)
	}
	if _, err := s.svc.CreditPool(ctx, admin, s.reseller.ID, subgate.ProductAny, 1_000_000, ""); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		waitFor(t, patience, "a credited pool to let a shared sub-user in", func() bool {
			c, bad := connectVia(t, n.ProxyAddr().String(), "ben", testPassword, o.addr)
			if bad != nil {
				return false
			}
			defer c.Close()
			resp, _ := getOver(t, c, o.addr, "/bytes?n=1000")
			got, _ := io.Copy(io.Discard, resp.Body)
			return got == 1000
		})
	}
}

// A sub-user created through the 9Proxy API draws on the reseller's pool:
// it works on the gateway at once, its data_used follows its traffic, and
// its usage_cap ends it with 402 usage_cap.
func TestNinePSubUserWorksRightAfterCreate(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t testing.TB) *shared
	}{{"sqlite", sharedSQLite}, {"postgres", sharedPG}} {
		t.Run(tc.name, func(t *testing.T) { ninePSubUserWorks(t, tc.open(t)) })
	}
}

func ninePSubUserWorks(t *testing.T, s *shared) {
	ctx := context.Background()
	key, _, err := s.svc.IssueToken(ctx, admin, s.reseller.ID, subgate.TokenAPI)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(ninep.New(s.svc, testLogger()))
	defer api.Close()
	call := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, api.URL+"/client/v1/user-passes/"+path+"api-key="+url.QueryEscape(key), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %v %v", method, path, resp.StatusCode, out, err)
		}
		return out
	}
	const capBytes = 3_000_000
	call("POST", "create?", `{"user_name": "nine_one", "use_key": "pass_123", "status": 1, "usage_cap": 3000000, "ip_usage_cap": -1}`)
	node := s.node(s.withService)
	o := newOrigin(t)

	c, bad := connectVia(t, node.ProxyAddr().String(), "nine_one", "pass_123", o.addr)
	if bad != nil {
		t.Fatalf("first request of a new 9Proxy sub-user refused: %d %s", bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
	}
	resp, _ := getOver(t, c, o.addr, "/bytes?n=100000")
	if n, _ := io.Copy(io.Discard, resp.Body); n != 100000 {
		t.Fatalf("got %d bytes", n)
	}
	dataUsed := func() float64 {
		items := call("GET", "get-list?sort_by=data_used&order_by=desc&", "")["result"].(map[string]any)["items"].([]any)
		return items[0].(map[string]any)["data_used"].(float64)
	}
	waitFor(t, patience, "data_used to show the traffic", func() bool { return dataUsed() >= 100000 })

	io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	io.Copy(io.Discard, c)
	c.Close()
	_, bad = connectVia(t, node.ProxyAddr().String(), "nine_one", "pass_123", o.addr)
	if bad == nil || bad.StatusCode != http.StatusPaymentRequired || bad.Header.Get("X-Subgate-Error") != subgate.ReasonUsageCap {
		t.Fatalf("after the cap: %v", bad)
	}
	if err := node.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := dataUsed(); got < capBytes-chunk || got > capBytes {
		t.Fatalf("data_used %v for a cap of %d", got, capBytes)
	}
}
