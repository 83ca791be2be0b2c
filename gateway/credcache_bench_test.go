package gateway

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
	"github.com/subgate/subgate/storetest"
)

// The gateway's memory per held sub-user and its start time with many
// sub-users in the store, against what loading every sub-user (as the
// gateway did before its cache was bounded) costs:
//
//	go test -run '^$' -bench CredCache -benchtime 3x ./gateway
//
// with 100,000 sub-users, or SUBGATE_BENCH_SUBUSERS of them.
//
// B/held is the heap per sub-user held (rows as the store returns them);
// B/allow-listed what the IP index takes per sub-user with one prefix;
// start-ms the time from New to the first CONNECT answered 200, reading
// no sub-user but the one logging in; full-load-ms and full-load-MB what
// reading and holding every sub-user took at start.
func BenchmarkCredCache(b *testing.B) {
	n := 100_000
	if os.Getenv(storetest.BenchSubUsersEnv) != "" {
		n = storetest.BenchSubUsers(b)
	}
	path := filepath.Join(b.TempDir(), "subgate.db")
	cipher, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	seedSubUsers(b, path, cipher, n)
	st, err := sqlite.Open(path, cipher)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	origin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer origin.Close()
	go func() {
		for {
			c, err := origin.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	b.Run(fmt.Sprintf("held/N=%d", n), func(b *testing.B) {
		for b.Loop() {
			c, perHeld, _ := holdAll(b, st)
			b.ReportMetric(perHeld, "B/held")
			runtime.KeepAlive(c)
		}
	})
	b.Run(fmt.Sprintf("allow-listed/N=%d", n), func(b *testing.B) {
		users := make([]*subgate.SubUser, n)
		for i := range users {
			users[i] = &subgate.SubUser{ID: int64(i + 1), ResellerID: 1, Seq: int64(i + 1),
				AllowIPs: []netip.Prefix{benchV4Prefix(i)}}
		}
		for b.Loop() {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c := newCredCache(st, func(old, cur *subgate.SubUser) {})
			c.mu.Lock()
			for _, u := range users {
				c.allowLocked(u)
			}
			c.mu.Unlock()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/allow-listed")
			runtime.KeepAlive(c)
		}
	})
	b.Run(fmt.Sprintf("full-load/N=%d", n), func(b *testing.B) {
		for b.Loop() {
			start := time.Now()
			c, _, heap := holdAll(b, st)
			b.ReportMetric(float64(time.Since(start).Milliseconds()), "full-load-ms")
			b.ReportMetric(float64(heap)/1e6, "full-load-MB")
			runtime.KeepAlive(c)
		}
	})
	b.Run(fmt.Sprintf("start/N=%d", n), func(b *testing.B) {
		for b.Loop() {
			start := time.Now()
			g, err := New(Config{ProxyAddr: "127.0.0.1:0", Store: st, AllowPrivateTargets: true,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			if err := g.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			benchConnect(b, g.ProxyAddr().String(), "user_"+strconv.Itoa(n/2), origin.Addr().String())
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "start-ms")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			g.Shutdown(ctx)
			cancel()
		}
	})
}

// holdAll reads every sub-user as the gateway's start did before its cache
// was bounded, holds them, and returns the heap they take per sub-user and
// in all.
func holdAll(b *testing.B, st subgate.Store) (*credCache, float64, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := newCredCache(st, func(old, cur *subgate.SubUser) {})
	c.size = 1 << 30
	ctx := context.Background()
	for {
		page, err := st.SubUsersChanged(ctx, c.seq, changedPage)
		if err != nil {
			b.Fatal(err)
		}
		c.mu.Lock()
		for _, u := range page {
			c.seq = u.Seq
			c.allowLocked(u)
			c.putLocked(u)
		}
		c.mu.Unlock()
		if len(page) < changedPage {
			break
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := after.HeapAlloc - before.HeapAlloc
	return c, float64(heap) / float64(len(c.byID)), heap
}

// benchConnect opens a CONNECT tunnel through proxy and fails unless it
// is answered 200.
func benchConnect(b *testing.B, proxy, user, target string) {
	c, err := net.DialTimeout("tcp", proxy, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodConnect, "http://"+target, nil)
	req.Host = target
	req.SetBasicAuth(user, "bench-password")
	req.Header.Set("Proxy-Authorization", req.Header.Get("Authorization"))
	req.Header.Del("Authorization")
	if err := req.Write(c); err != nil {
		b.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("CONNECT as %s: %s %s", user, resp.Status, resp.Header.Get("X-Subgate-Error"))
	}
}

// seedSubUsers creates a store at path holding n active sub-users of one
// reseller (user_1 … user_n, password bench-password, a name, an email
// and 1 GB each), inserted
// in bulk: CreateSubUser's bookkeeping would take minutes.
func seedSubUsers(b *testing.B, path string, cipher subgate.Cipher, n int) {
	ctx := context.Background()
	st, err := sqlite.Open(path, cipher)
	if err != nil {
		b.Fatal(err)
	}
	r := &subgate.Reseller{Name: "big"}
	if err := st.CreateReseller(ctx, r); err != nil {
		b.Fatal(err)
	}
	st.Close()
	sealed, err := cipher.Seal([]byte("bench-password"))
	if err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO subusers (id, hash, reseller_id, username, password, name, email,
		status, total_available, created_at, updated_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	bal, err := tx.PrepareContext(ctx, `INSERT INTO balances (subuser_id, product, available) VALUES (?, '*', ?)`)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixNano()
	for i := 1; i <= n; i++ {
		if _, err := ins.ExecContext(ctx, i, subgate.NewHash(), r.ID, "user_"+strconv.Itoa(i), sealed,
			"Customer "+strconv.Itoa(i), "customer"+strconv.Itoa(i)+"@example.com", subgate.BytesPerGB, now, now, i); err != nil {
			b.Fatal(err)
		}
		if _, err := bal.ExecContext(ctx, i, subgate.BytesPerGB); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE resellers SET live_subusers = ? WHERE id = ?`, n, r.ID); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
