package gateway_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
	"github.com/subgate/subgate/internal/pgtest"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
)

// simCountingStore counts a gateway's requests to its store and times its
// flushes.
type simCountingStore struct {
	*postgres.Store
	calls   atomic.Int64
	mu      sync.Mutex
	flushes []time.Duration
}

func (s *simCountingStore) SubUser(ctx context.Context, scope subgate.Scope, ref string) (*subgate.SubUser, error) {
	s.calls.Add(1)
	return s.Store.SubUser(ctx, scope, ref)
}

func (s *simCountingStore) SubUserByUsername(ctx context.Context, username string) (*subgate.SubUser, error) {
	s.calls.Add(1)
	return s.Store.SubUserByUsername(ctx, username)
}

func (s *simCountingStore) SubUsersChanged(ctx context.Context, after int64, limit int) ([]*subgate.SubUser, error) {
	s.calls.Add(1)
	return s.Store.SubUsersChanged(ctx, after, limit)
}

func (s *simCountingStore) SubUsersSeq(ctx context.Context) (int64, error) {
	s.calls.Add(1)
	return s.Store.SubUsersSeq(ctx)
}

func (s *simCountingStore) SubUsersAllowingIPs(ctx context.Context, afterID int64, limit int) ([]*subgate.SubUser, error) {
	s.calls.Add(1)
	return s.Store.SubUsersAllowingIPs(ctx, afterID, limit)
}

func (s *simCountingStore) AcquireLease(ctx context.Context, r subgate.LeaseRequest) (int64, error) {
	s.calls.Add(1)
	return s.Store.AcquireLease(ctx, r)
}

func (s *simCountingStore) FlushUsage(ctx context.Context, b subgate.UsageBatch) error {
	s.calls.Add(1)
	start := time.Now()
	err := s.Store.FlushUsage(ctx, b)
	s.mu.Lock()
	s.flushes = append(s.flushes, time.Since(start))
	s.mu.Unlock()
	return err
}

func (s *simCountingStore) AdmitEgress(ctx context.Context, r subgate.EgressRequest) (subgate.EgressAdmission, error) {
	s.calls.Add(1)
	return s.Store.AdmitEgress(ctx, r)
}

func (s *simCountingStore) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	s.calls.Add(1)
	return s.Store.AcquireSlots(ctx, r)
}

func (s *simCountingStore) SyncSlots(ctx context.Context, r subgate.SlotSync) ([]subgate.SlotHold, error) {
	s.calls.Add(1)
	return s.Store.SyncSlots(ctx, r)
}

// simTunnel opens a CONNECT tunnel to target through proxy as sub-user id
// and echoes payload through it. It returns the tunnel open (the caller
// closes it) or the status that refused it.
func simTunnel(proxy, target string, id int64, payload []byte) (net.Conn, int, error) {
	c, err := net.DialTimeout("tcp", proxy, 5*time.Second)
	if err != nil {
		return nil, 0, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	auth := base64.StdEncoding.EncodeToString([]byte(pgtest.SimUsername(id) + ":" + simPassword))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", target, target, auth)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, resp.StatusCode, nil
	}
	if _, err := c.Write(payload); err != nil {
		c.Close()
		return nil, 0, err
	}
	if _, err := io.ReadFull(br, make([]byte, len(payload))); err != nil {
		c.Close()
		return nil, 0, err
	}
	c.SetDeadline(time.Time{})
	return c, http.StatusOK, nil
}

const simPassword = "sim-password"

// simGateway is one gateway node of the simulation and the sub-users it
// serves.
type simGateway struct {
	gw    *gateway.Gateway
	store *simCountingStore
	share []int64
	// seqs records when the node's enforcement took each new snapshot of
	// the watched sub-user.
	seqs []seqSeen
	// tunnels opened and refused, and other failures.
	opened, refused, failed atomic.Int64
}

type seqSeen struct {
	seq int64
	at  time.Time
}

// TestManyGatewayNodesShareOneDatabase runs real gateway nodes against one
// schema: each with its own store (pool and LISTEN session) and a bounded
// credential cache, each serving a share of the sub-users with live
// traffic (CONNECT tunnels over loopback to an echo server), while an API
// node changes sub-users. Every node holds a tunnel of one watched sub-user
// whose changes it must take; for each node count it logs store requests
// per second per node, PostgreSQL CPU, change propagation (commit to the
// node's enforcement holding the change), flush latency and the server
// connections used.
//
// Small by default. SUBGATE_SIM_NODES (a count, or counts separated by
// commas), SUBGATE_SIM_SUBUSERS, SUBGATE_SIM_SECONDS, SUBGATE_SIM_POOL (per
// node), SUBGATE_SIM_CHANGES (per second), SUBGATE_SIM_LOGINS (tunnels per
// node per second) and SUBGATE_SIM_CACHE (sub-users a node's credential
// cache holds) scale it; SUBGATE_SIM_PGBOUNCER=/path/to/pgbouncer puts the
// pooled connections behind a PgBouncer in transaction mode of
// SUBGATE_SIM_PGBOUNCER_POOL server connections, the LISTEN sessions direct.
func TestManyGatewayNodesShareOneDatabase(t *testing.T) {
	counts := pgtest.SimNodeCounts(t, 3)
	users := pgtest.SimSetting(t, "SUBGATE_SIM_SUBUSERS", 60)
	cfg := simGatewayConfig{
		users:    users,
		seconds:  pgtest.SimSetting(t, "SUBGATE_SIM_SECONDS", 3),
		poolSize: pgtest.SimSetting(t, "SUBGATE_SIM_POOL", 2),
		rate:     pgtest.SimSetting(t, "SUBGATE_SIM_CHANGES", 10),
		logins:   pgtest.SimSetting(t, "SUBGATE_SIM_LOGINS", 5),
		cache:    pgtest.SimSetting(t, "SUBGATE_SIM_CACHE", 1000),
		sink:     echoOrigin(t),
		mode:     "direct",
	}
	bouncer := os.Getenv("SUBGATE_SIM_PGBOUNCER")
	bouncerPool := pgtest.SimSetting(t, "SUBGATE_SIM_PGBOUNCER_POOL", 12)

	db := pgtest.NewSchema(t, "gateway_sim_")
	schemaURL := db.URL
	ctx := context.Background()
	cipher, err := secret.New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	seeder, err := postgres.Open(ctx, schemaURL, cipher)
	if err != nil {
		t.Fatal(err)
	}
	r := &subgate.Reseller{Name: "sim"}
	err = seeder.CreateReseller(ctx, r)
	seeder.Close()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := cipher.Seal([]byte(simPassword))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	pgtest.SeedSubUsers(t, schemaURL, users, r.ID, sealed)
	t.Logf("seeded %d sub-users in %v", users, time.Since(began).Round(time.Millisecond))

	cfg.pooled = schemaURL
	if bouncer != "" {
		pb := pgtest.StartPgBouncer(t, bouncer, db.Schema, bouncerPool)
		cfg.pooled, cfg.bouncerPid = pb.URL, pb.Pid
		cfg.mode = fmt.Sprintf("behind PgBouncer (%d server connections)", bouncerPool)
	}
	cfg.session = pgtest.WithApp(t, schemaURL, pgtest.SimApp+"-listen")
	cfg.pooled = pgtest.WithApp(t, cfg.pooled, pgtest.SimApp)
	api, err := postgres.OpenWith(ctx, cfg.pooled, cipher, postgres.Options{PoolSize: 2, SessionURL: cfg.session})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	cfg.api = api
	for phase, nodes := range counts {
		runGatewayPhase(t, cfg, phase, nodes)
	}
}

type simGatewayConfig struct {
	api                                    *postgres.Store
	pooled, session, mode, sink            string
	bouncerPid                             int
	users, seconds, poolSize, rate, logins int
	cache                                  int
}

// watched is the sub-user every node holds a tunnel of; it is no node's
// share.
const watched = int64(1)

func runGatewayPhase(t *testing.T, cfg simGatewayConfig, phase, nodes int) {
	ctx := context.Background()
	cipher, _ := secret.New(testKey)
	sim := make([]*simGateway, nodes)
	for i := range sim {
		st, err := postgres.OpenWith(ctx, cfg.pooled, cipher, postgres.Options{PoolSize: cfg.poolSize, SessionURL: cfg.session})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer st.Close()
		cs := &simCountingStore{Store: st}
		gw, err := gateway.New(gateway.Config{ProxyAddr: "127.0.0.1:0", Store: cs, Changes: st, CredCacheSize: cfg.cache,
			Node: fmt.Sprintf("p%d-node%d", phase, i), AllowPrivateTargets: true, DefaultProduct: subgate.ProductResidential,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		if err := gw.Start(ctx); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			gw.Shutdown(sctx)
		}()
		sim[i] = &simGateway{gw: gw, store: cs}
	}
	for id := watched + 1; id <= int64(cfg.users); id++ {
		n := sim[int(id)%nodes]
		n.share = append(n.share, id)
	}
	payload := make([]byte, 1024)
	for i, n := range sim {
		c, status, err := simTunnel(n.gw.ProxyAddr().String(), cfg.sink, watched, payload)
		if err != nil || status != http.StatusOK {
			t.Fatalf("node %d: watched tunnel: status %d, %v", i, status, err)
		}
		defer c.Close()
	}

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, n := range sim {
		wg.Go(func() { n.serve(runCtx, cfg, payload, uint64(phase*1000+i)) })
		wg.Go(func() { n.watch(runCtx) })
	}
	time.Sleep(2 * time.Second) // the nodes' LISTEN sessions connect, their caches warm
	conns := &pgtest.Conns{}
	wg.Go(func() { conns.Sample(runCtx, t) })
	cpu0, bcpu0 := pgtest.ServerCPU(), pgtest.ProcessCPU(cfg.bouncerPid)
	self0 := pgtest.ProcessCPU(os.Getpid())
	calls0, opened0 := make([]int64, len(sim)), make([]int64, len(sim))
	for i, n := range sim {
		calls0[i], opened0[i] = n.store.calls.Load(), n.opened.Load()
		n.store.mu.Lock()
		n.store.flushes = nil
		n.store.mu.Unlock()
	}
	began := time.Now()
	committed := simGatewayChanges(t, cfg, phase)
	elapsed := time.Since(began)
	cpu1, bcpu1 := pgtest.ServerCPU(), pgtest.ProcessCPU(cfg.bouncerPid)
	self1 := pgtest.ProcessCPU(os.Getpid())
	var calls, tunnels int64
	for i, n := range sim {
		calls += n.store.calls.Load() - calls0[i]
		tunnels += n.opened.Load() - opened0[i]
	}
	// Every node's enforcement must come to hold the watched sub-user's
	// last change; each change it held is timed from its commit.
	if len(committed) == 0 {
		t.Fatal("no change of the watched sub-user committed")
	}
	last := slices.MaxFunc(committed, func(a, b seqSeen) int { return int(a.seq - b.seq) }).seq
	deadline := time.Now().Add(60 * time.Second)
	for i, n := range sim {
		for {
			if seq, _ := n.gw.AccountSeq(watched); seq >= last {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d never held change %d of the watched sub-user", i, last)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(20 * time.Millisecond) // the watchers, polling, record it too
	stop()
	wg.Wait()

	var lags, flushes []time.Duration
	var opened, refused, failed int64
	for _, n := range sim {
		lags = append(lags, n.lags(committed)...)
		n.store.mu.Lock()
		flushes = append(flushes, n.store.flushes...)
		n.store.mu.Unlock()
		opened += n.opened.Load()
		refused += n.refused.Load()
		failed += n.failed.Load()
	}
	secs := elapsed.Seconds()
	t.Logf("%d gateway nodes %s, pool %d + 1 listening per node, %d sub-users, credential cache %d, %d changes of the watched sub-user in %v",
		nodes, cfg.mode, cfg.poolSize, cfg.users, cfg.cache, len(committed), elapsed.Round(time.Millisecond))
	t.Logf("  store requests/s per node %.1f; tunnels/s per node %.1f of %d asked (in all %d opened, %d refused, %d failed)",
		float64(calls)/float64(nodes)/secs, float64(tunnels)/float64(nodes)/secs, cfg.logins, opened, refused, failed)
	t.Logf("  PostgreSQL CPU %s; PgBouncer CPU %s; the nodes (this process) %s", pgtest.Cores(cpu0, cpu1, secs, nodes),
		pgtest.Cores(bcpu0, bcpu1, secs, nodes), pgtest.Cores(self0, self1, secs, nodes))
	t.Logf("  change propagation p50 %v p99 %v (%d deliveries); flush p50 %v p99 %v (%d flushes)",
		pgtest.Percentile(lags, 50), pgtest.Percentile(lags, 99), len(lags),
		pgtest.Percentile(flushes, 50), pgtest.Percentile(flushes, 99), len(flushes))
	t.Logf("  server connections: the installation's (nodes and API) at most %d, of which %d listening; the whole server's at most %d",
		conns.Installation.Load(), conns.Listening.Load(), conns.All.Load())
	if failed > 0 {
		t.Errorf("%d tunnels failed other than by a refusal", failed)
	}
}

// serve opens cfg.logins tunnels a second through the node, each as a
// random sub-user of its share, echoes a payload and closes it, until ctx
// ends.
func (n *simGateway) serve(ctx context.Context, cfg simGatewayConfig, payload []byte, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 5))
	tick := time.NewTicker(time.Second / time.Duration(cfg.logins))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		id := n.share[rng.IntN(len(n.share))]
		c, status, err := simTunnel(n.gw.ProxyAddr().String(), cfg.sink, id, payload)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				n.failed.Add(1)
			}
		case status != http.StatusOK:
			n.refused.Add(1)
		default:
			n.opened.Add(1)
			c.Close()
		}
	}
}

// watch records every new snapshot of the watched sub-user the node's
// enforcement takes, polling every 2 ms until ctx ends.
func (n *simGateway) watch(ctx context.Context) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if seq, ok := n.gw.AccountSeq(watched); ok && seq > last {
			last = seq
			n.seqs = append(n.seqs, seqSeen{seq: seq, at: time.Now()})
		}
	}
}

// lags times each committed change from its commit to the first snapshot
// the node held that includes it. Call after watch has returned.
func (n *simGateway) lags(committed []seqSeen) []time.Duration {
	var out []time.Duration
	for _, c := range committed {
		i := slices.IndexFunc(n.seqs, func(s seqSeen) bool { return s.seq >= c.seq })
		if i >= 0 {
			out = append(out, max(0, n.seqs[i].at.Sub(c.at)))
		}
	}
	return out
}

// simGatewayChanges changes sub-users through the API node at cfg.rate a
// second for cfg.seconds, a few at a time, every other change the watched
// sub-user's, and returns the watched sub-user's changes with their commit
// times.
func simGatewayChanges(t *testing.T, cfg simGatewayConfig, phase int) []seqSeen {
	const inFlight = 4
	var mu sync.Mutex
	var watchedChanges []seqSeen
	var wg sync.WaitGroup
	slots := make(chan struct{}, inFlight)
	rng := rand.New(rand.NewPCG(uint64(phase), 3))
	began := time.Now()
	for k := 0; time.Since(began) < time.Duration(cfg.seconds)*time.Second; k++ {
		note := fmt.Sprintf("phase %d change %d", phase, k)
		id := watched
		if k%2 == 1 {
			id = 1 + rng.Int64N(int64(cfg.users))
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			u, err := cfg.api.UpdateSubUser(context.Background(), 0, id, subgate.SubUserUpdate{Note: &note}, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			if id == watched {
				mu.Lock()
				watchedChanges = append(watchedChanges, seqSeen{seq: u.Seq, at: time.Now()})
				mu.Unlock()
			}
		})
		time.Sleep(time.Until(began.Add(time.Duration(k+1) * time.Second / time.Duration(cfg.rate))))
	}
	wg.Wait()
	return watchedChanges
}
