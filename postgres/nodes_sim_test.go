package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/pgtest"
	"github.com/subgate/subgate/postgres"
)

// simNode is one gateway node's use of the store: it follows the change
// feed as the gateway's credential cache does (LISTEN, then
// SubUsersChanged after the highest Seq seen; a poll every 5 s besides, the
// gateway's ChangePollInterval while the feed delivers),
// logs in sub-users of its share through a bounded cache that reads the
// store on a miss, and meters traffic (a lease per new connection, then a
// flush every second).
type simNode struct {
	st      *postgres.Store
	name    string
	share   []int64
	calls   atomic.Int64 // store calls made
	seen    sync.Map     // note → time the node saw it
	after   atomic.Int64
	cache   map[int64]bool // the bounded credential cache: who is held
	hits    int
	logins  int
	mu      sync.Mutex
	flushes []time.Duration
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
	tick := time.NewTicker(5 * time.Second)
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

// simLoad is what every node does each second, whatever the number of
// nodes: logins of its sub-users, of which active start a connection
// (lease, then a flush of their usage).
type simLoad struct {
	logins, active, cacheSize int
}

// serve logs in and meters load.logins sub-users of the node's share every
// second until ctx ends; load.active of them take a lease and are flushed.
func (n *simNode) serve(ctx context.Context, t *testing.T, load simLoad, sim int) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	rng := rand.New(rand.NewPCG(uint64(sim), 11))
	for batch := 0; ; batch++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		b := subgate.UsageBatch{ID: fmt.Sprintf("%s-%d", n.name, batch), Node: n.name, Now: now, LeaseTTL: time.Minute}
		for i := range load.logins {
			id := n.share[rng.IntN(len(n.share))]
			if !n.login(ctx, t, id, load.cacheSize, rng) {
				return
			}
			if i >= load.active {
				continue
			}
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
	}
}

// login finds sub-user id in the node's cache or, on a miss, in the store
// (as the gateway does by username), evicting a random entry when the cache
// is full. It reports false when the run is over or the store failed.
func (n *simNode) login(ctx context.Context, t *testing.T, id int64, size int, rng *rand.Rand) bool {
	n.logins++
	if n.cache[id] {
		n.hits++
		return true
	}
	n.calls.Add(1)
	if _, err := n.st.SubUserByUsername(ctx, pgtest.SimUsername(id)); err != nil {
		if ctx.Err() == nil {
			t.Error(err)
		}
		return false
	}
	if len(n.cache) >= size {
		skip := rng.IntN(len(n.cache))
		for k := range n.cache {
			if skip == 0 {
				delete(n.cache, k)
				break
			}
			skip--
		}
	}
	n.cache[id] = true
	return true
}

// TestManyNodesShareOneDatabase runs gateway nodes' store traffic against
// one schema: each node has its own pool and LISTEN session, a share of the
// sub-users it logs in (a bounded cache reads the store on a miss) and live
// metering, while an API node changes sub-users. Every node must see every
// change. For each node count it logs store calls per second per node,
// PostgreSQL CPU, change propagation (commit to seen), flush latency and the
// connections the nodes hold on the server.
//
// Small by default. SUBGATE_SIM_NODES (a count, or counts separated by
// commas, e.g. 10,25,50), SUBGATE_SIM_SUBUSERS, SUBGATE_SIM_SECONDS,
// SUBGATE_SIM_POOL (per node), SUBGATE_SIM_CHANGES (per second),
// SUBGATE_SIM_LOGINS and SUBGATE_SIM_ACTIVE (per node per second) and
// SUBGATE_SIM_CACHE (sub-users a node's cache holds) scale it.
// SUBGATE_SIM_PGBOUNCER=/path/to/pgbouncer puts the pooled connections
// behind a PgBouncer in transaction mode of SUBGATE_SIM_PGBOUNCER_POOL
// server connections, the LISTEN sessions direct.
func TestManyNodesShareOneDatabase(t *testing.T) {
	counts := pgtest.SimNodeCounts(t, 3)
	users := pgtest.SimSetting(t, "SUBGATE_SIM_SUBUSERS", 60)
	seconds := pgtest.SimSetting(t, "SUBGATE_SIM_SECONDS", 3)
	poolSize := pgtest.SimSetting(t, "SUBGATE_SIM_POOL", 2)
	rate := pgtest.SimSetting(t, "SUBGATE_SIM_CHANGES", 10)
	load := simLoad{
		logins:    pgtest.SimSetting(t, "SUBGATE_SIM_LOGINS", 5),
		active:    pgtest.SimSetting(t, "SUBGATE_SIM_ACTIVE", 2),
		cacheSize: pgtest.SimSetting(t, "SUBGATE_SIM_CACHE", 1000),
	}
	bouncer := os.Getenv("SUBGATE_SIM_PGBOUNCER")
	bouncerPool := pgtest.SimSetting(t, "SUBGATE_SIM_PGBOUNCER_POOL", 12)

	db := newTestDB(t)
	ctx := context.Background()
	seeder, err := postgres.Open(ctx, db.url, testCipher(t))
	if err != nil {
		t.Fatal(err)
	}
	r := &subgate.Reseller{Name: "sim"}
	err = seeder.CreateReseller(ctx, r)
	seeder.Close()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	sealed, err := testCipher(t).Seal([]byte("sim-password"))
	if err != nil {
		t.Fatal(err)
	}
	pgtest.SeedSubUsers(t, db.url, users, r.ID, sealed)
	t.Logf("seeded %d sub-users in %v", users, time.Since(began).Round(time.Millisecond))

	pooled, mode := db.url, "direct"
	var bouncerPid int
	if bouncer != "" {
		pb := pgtest.StartPgBouncer(t, bouncer, db.schema, bouncerPool)
		pooled, bouncerPid = pb.URL, pb.Pid
		mode = fmt.Sprintf("behind PgBouncer (%d server connections)", bouncerPool)
	}
	session := pgtest.WithApp(t, db.url, pgtest.SimApp+"-listen")
	pooled = pgtest.WithApp(t, pooled, pgtest.SimApp)
	api, err := postgres.OpenWith(ctx, pooled, testCipher(t), postgres.Options{PoolSize: 2, SessionURL: session})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	for phase, nodes := range counts {
		runSimPhase(t, simPhase{api: api, pooled: pooled, session: session, mode: mode, bouncerPid: bouncerPid,
			phase: phase, nodes: nodes, users: users, poolSize: poolSize, rate: rate, load: load,
			seconds: seconds})
	}
}

// simPhase is one run of the simulation with a number of nodes.
type simPhase struct {
	api                     *postgres.Store
	pooled, session, mode   string
	bouncerPid              int
	phase, nodes, users     int
	poolSize, rate, seconds int
	load                    simLoad
}

func runSimPhase(t *testing.T, p simPhase) {
	ctx := context.Background()
	start, err := p.api.SubUsersSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sim := make([]*simNode, p.nodes)
	for i := range sim {
		st, err := postgres.OpenWith(ctx, p.pooled, testCipher(t), postgres.Options{PoolSize: p.poolSize, SessionURL: p.session})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer st.Close()
		sim[i] = &simNode{st: st, name: fmt.Sprintf("p%d-node%d", p.phase, i), cache: map[int64]bool{}}
		sim[i].after.Store(start) // a node starts from where the feed stands
	}
	for id := int64(1); id <= int64(p.users); id++ {
		n := sim[int(id)%p.nodes]
		n.share = append(n.share, id)
	}

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, n := range sim {
		wg.Go(func() { n.follow(runCtx, t) })
		wg.Go(func() { n.serve(runCtx, t, p.load, p.phase*1000+i) })
	}
	time.Sleep(2 * time.Second) // the nodes' LISTEN sessions connect, their caches warm
	conns := &pgtest.Conns{}
	wg.Go(func() { conns.Sample(runCtx, t) })
	cpu0, bcpu0 := pgtest.ServerCPU(), pgtest.ProcessCPU(p.bouncerPid)
	self0 := pgtest.ProcessCPU(os.Getpid())
	calls0 := make([]int64, len(sim))
	for i, n := range sim {
		calls0[i] = n.calls.Load()
		n.mu.Lock()
		n.flushes = nil
		n.mu.Unlock()
	}
	began := time.Now()
	committed, changed := simChanges(t, p)
	elapsed := time.Since(began)
	cpu1, bcpu1 := pgtest.ServerCPU(), pgtest.ProcessCPU(p.bouncerPid)
	self1 := pgtest.ProcessCPU(os.Getpid())
	var calls int64
	for i, n := range sim {
		calls += n.calls.Load() - calls0[i]
	}
	// A change may be overwritten by a later one on the same sub-user
	// before a node reads it; the latest of each sub-user must arrive.
	latest := map[string]bool{}
	for _, id := range changed {
		u, err := p.api.SubUser(ctx, 0, fmt.Sprint(id))
		if err != nil {
			t.Fatal(err)
		}
		latest[u.Note] = true
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
	var logins, hits int
	for _, n := range sim {
		flushes = append(flushes, n.flushes...)
		logins += n.logins
		hits += n.hits
	}
	secs := elapsed.Seconds()
	t.Logf("%d nodes %s, pool %d + 1 listening per node, %d sub-users, %d changes in %v",
		p.nodes, p.mode, p.poolSize, p.users, len(committed), elapsed.Round(time.Millisecond))
	t.Logf("  store calls/s per node %.1f (logins %d/s with %.0f%% cache hits, %d leases/s, 1 flush/s, change feed)",
		float64(calls)/float64(p.nodes)/secs, p.load.logins, 100*float64(hits)/float64(max(1, logins)), p.load.active)
	t.Logf("  PostgreSQL CPU %s; PgBouncer CPU %s; the nodes (this process) %s", pgtest.Cores(cpu0, cpu1, secs, p.nodes),
		pgtest.Cores(bcpu0, bcpu1, secs, p.nodes), pgtest.Cores(self0, self1, secs, p.nodes))
	t.Logf("  change propagation p50 %v p99 %v (%d deliveries); flush p50 %v p99 %v (%d flushes)",
		pgtest.Percentile(lags, 50), pgtest.Percentile(lags, 99), len(lags), pgtest.Percentile(flushes, 50), pgtest.Percentile(flushes, 99), len(flushes))
	t.Logf("  server connections: the installation's (nodes and API) at most %d, of which %d listening; the whole server's at most %d",
		conns.Installation.Load(), conns.Listening.Load(), conns.All.Load())
}

// simChanges makes p.rate note changes a second for p.seconds through the
// API node, a few at a time so that a slow one does not hold up the rest,
// and returns when each note committed and which sub-users changed.
func simChanges(t *testing.T, p simPhase) (committed map[string]time.Time, changed []int64) {
	const inFlight = 4
	committed = map[string]time.Time{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, inFlight)
	rng := rand.New(rand.NewPCG(uint64(p.phase), 3))
	began := time.Now()
	for k := 0; time.Since(began) < time.Duration(p.seconds)*time.Second; k++ {
		note := fmt.Sprintf("phase %d change %d", p.phase, k)
		id := 1 + rng.Int64N(int64(p.users))
		changed = append(changed, id)
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if _, err := p.api.UpdateSubUser(context.Background(), 0, id, subgate.SubUserUpdate{Note: &note}, time.Now()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			committed[note] = time.Now()
			mu.Unlock()
		})
		time.Sleep(time.Until(began.Add(time.Duration(k+1) * time.Second / time.Duration(p.rate))))
	}
	wg.Wait()
	return committed, changed
}
