package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/postgres"
)

// simSetting reads a whole-number setting of the nodes simulation from the
// environment.
func simSetting(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// simNode is one gateway node's use of the store: it follows the change
// feed as the gateway's credential cache does (LISTEN, then
// SubUsersChanged after the highest Seq seen; a poll every 250 ms besides),
// and meters traffic of its share of sub-users (leases, then a flush every
// second).
type simNode struct {
	st       *postgres.Store
	name     string
	share    []int64
	calls    atomic.Int64 // store calls made
	seen     sync.Map     // note → time the node saw it
	after    atomic.Int64
	mu       sync.Mutex
	flushes  []time.Duration
	maxConns atomic.Int32
}

// follow applies every change after the highest Seq seen until ctx ends.
func (n *simNode) follow(ctx context.Context, t *testing.T) {
	due := make(chan struct{}, 1)
	go n.st.ListenChanges(ctx, func(int64) { //nolint:errcheck // the poll covers a broken feed
		select {
		case due <- struct{}{}:
		default:
		}
	})
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		for {
			n.calls.Add(1)
			page, err := n.st.SubUsersChanged(ctx, n.after.Load(), 1000)
			if err != nil {
				if ctx.Err() == nil {
					t.Error(err)
				}
				return
			}
			now := time.Now()
			for _, u := range page {
				n.after.Store(max(n.after.Load(), u.Seq))
				n.seen.LoadOrStore(u.Note, now)
			}
			if len(page) < 1000 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-due:
		case <-tick.C:
		}
	}
}

// meter leases and flushes traffic of a tenth of the node's share every
// second until ctx ends.
func (n *simNode) meter(ctx context.Context, t *testing.T) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for batch := 0; ; batch++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		b := subgate.UsageBatch{ID: fmt.Sprintf("%s-%d", n.name, batch), Node: n.name, Now: now, LeaseTTL: time.Minute}
		for i := range max(1, len(n.share)/10) {
			id := n.share[(batch*7+i)%len(n.share)]
			n.calls.Add(1)
			if _, err := n.st.AcquireLease(ctx, subgate.LeaseRequest{Node: n.name, SubUserID: id,
				Product: subgate.ProductResidential, Want: 1 << 20, TTL: time.Minute, Now: now}); err != nil {
				if ctx.Err() == nil {
					t.Error(err)
				}
				return
			}
			b.Items = append(b.Items, subgate.UsageItem{SubUserID: id, Product: subgate.ProductResidential,
				Hour: now.UTC().Truncate(time.Hour), Bytes: 1000})
		}
		start := time.Now()
		n.calls.Add(1)
		if err := n.st.FlushUsage(ctx, b); err != nil {
			if ctx.Err() == nil {
				t.Error(err)
			}
			return
		}
		n.mu.Lock()
		n.flushes = append(n.flushes, time.Since(start))
		n.mu.Unlock()
		n.maxConns.Store(max(n.maxConns.Load(), n.st.Pool().Stat().TotalConns()))
	}
}

// TestManyNodesShareOneDatabase runs gateway nodes' store traffic against
// one schema: each node has its own pool and LISTEN session, a share of the
// sub-users and live metering, while an API node changes sub-users. Every
// node must see every change; it reports store calls per second per node,
// change propagation (commit to seen) and flush latency. Small by default;
// SUBGATE_SIM_NODES, SUBGATE_SIM_SUBUSERS, SUBGATE_SIM_SECONDS,
// SUBGATE_SIM_POOL and SUBGATE_SIM_CHANGES (per second) scale it.
func TestManyNodesShareOneDatabase(t *testing.T) {
	nodes := simSetting(t, "SUBGATE_SIM_NODES", 3)
	users := simSetting(t, "SUBGATE_SIM_SUBUSERS", 60)
	seconds := simSetting(t, "SUBGATE_SIM_SECONDS", 3)
	poolSize := simSetting(t, "SUBGATE_SIM_POOL", 2)
	rate := simSetting(t, "SUBGATE_SIM_CHANGES", 20)
	db := newTestDB(t)
	api := db.open(t)
	ctx := context.Background()
	r := &subgate.Reseller{Name: "sim"}
	if err := api.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: subgate.ProductResidential, Bytes: subgate.MaxBytes}); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, users)
	for i := range ids {
		u := newSubUser(r.ID, fmt.Sprintf("sim_%d", i))
		if err := api.CreateSubUser(ctx, u, map[subgate.Product]int64{subgate.ProductResidential: 1 << 40}, ""); err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	sim := make([]*simNode, nodes)
	for i := range sim {
		st, err := postgres.OpenWith(ctx, db.url, testCipher(t), postgres.Options{PoolSize: poolSize})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { st.Close() })
		sim[i] = &simNode{st: st, name: fmt.Sprintf("node%d", i)}
	}
	for i, id := range ids {
		sim[i%nodes].share = append(sim[i%nodes].share, id)
	}

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, n := range sim {
		wg.Go(func() { n.follow(runCtx, t) })
		wg.Go(func() { n.meter(runCtx, t) })
	}
	time.Sleep(time.Second) // the nodes' LISTEN sessions connect
	committed := map[string]time.Time{}
	began := time.Now()
	for k := 0; time.Since(began) < time.Duration(seconds)*time.Second; k++ {
		note := fmt.Sprintf("change %d", k)
		if _, err := api.UpdateSubUser(ctx, 0, ids[rand.IntN(len(ids))], subgate.SubUserUpdate{Note: &note}, time.Now()); err != nil {
			t.Fatal(err)
		}
		committed[note] = time.Now()
		time.Sleep(time.Until(began.Add(time.Duration(k+1) * time.Second / time.Duration(rate))))
	}
	elapsed := time.Since(began)
	// A change may be overwritten by a later one on the same sub-user
	// before a node reads it; the latest of each sub-user must arrive.
	latest := map[string]bool{}
	for _, id := range ids {
		u, err := api.SubUser(ctx, 0, fmt.Sprint(id))
		if err != nil {
			t.Fatal(err)
		}
		latest[u.Note] = u.Note != ""
	}
	deadline := time.Now().Add(60 * time.Second)
	var lags []time.Duration
	for _, n := range sim {
		for note, at := range committed {
			seen, ok := n.seen.Load(note)
			for !ok && latest[note] && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				seen, ok = n.seen.Load(note)
			}
			if ok {
				lags = append(lags, max(0, seen.(time.Time).Sub(at)))
			} else if latest[note] {
				t.Fatalf("%s never saw %q", n.name, note)
			}
		}
	}
	stop()
	wg.Wait()

	var flushes []time.Duration
	var calls int64
	var conns int32
	for _, n := range sim {
		flushes = append(flushes, n.flushes...)
		calls += n.calls.Load()
		conns = max(conns, n.maxConns.Load())
	}
	t.Logf("%d nodes, %d sub-users, %d changes in %v: %.1f store calls/s per node, at most %d pooled + 1 listening connections per node",
		nodes, users, len(committed), elapsed.Round(time.Millisecond), float64(calls)/float64(nodes)/elapsed.Seconds(), conns)
	t.Logf("change propagation p50 %v p99 %v (%d deliveries); flush p50 %v p99 %v (%d flushes)",
		percentile(lags, 50), percentile(lags, 99), len(lags), percentile(flushes, 50), percentile(flushes, 99), len(flushes))
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(100 * time.Microsecond)
}
