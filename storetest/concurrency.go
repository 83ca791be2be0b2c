package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

var concurrencyTests = []test{
	{"MixedCallsKeepInvariant", func(t *testing.T, e *env) { mixedCalls(t, e, 200) }},
}

// mixedCalls runs n concurrent gives, takes, keyed replays and metered
// usage (lease, then flush with release) over a few sub-users and checks
// that every byte is accounted for.
func mixedCalls(t *testing.T, e *env, n int) {
	r := e.reseller(map[subgate.Product]int64{res: 1_000_000, dc: 1_000_000})
	var users []*subgate.SubUser
	for range 5 {
		users = append(users, e.subUser(r.ID, map[subgate.Product]int64{res: 20_000, dc: 20_000}))
	}
	flushed, applied := runConcurrently(t, e, n, func(ctx context.Context, i int, flushed, applied *atomic.Int64) error {
		return mixedCall(ctx, e.s, i, users, flushed, applied)
	}, subgate.EINSUFFICIENT)
	CheckInvariant(t, e.s, r.ID)
	audit, err := e.s.Audit(e.ctx, r.ID)
	e.must(err)
	var used, leased int64
	for _, l := range audit {
		used += l.Used
		leased += l.Leased
	}
	if used != flushed {
		t.Fatalf("used %d bytes, nodes flushed %d", used, flushed)
	}
	if leased != 0 {
		t.Fatalf("%d bytes still leased after every node released", leased)
	}
	if applied == 0 {
		t.Fatal("no transfer succeeded: the test exercised nothing")
	}
}

// runConcurrently runs call n times at once, bounded in time; an error
// other than the allowed codes fails t. It returns the bytes the calls
// flushed and the moves they applied.
func runConcurrently(t *testing.T, e *env, n int, call func(ctx context.Context, i int, flushed, applied *atomic.Int64) error, allowed ...string) (int64, int64) {
	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	defer cancel()
	var flushed, applied atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			if err := call(ctx, i, &flushed, &applied); err != nil && !slices.Contains(allowed, subgate.ErrorCode(err)) {
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	close(start)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("concurrent calls did not finish in 90 s")
	}
	return flushed.Load(), applied.Load()
}

func mixedCall(ctx context.Context, s subgate.Store, i int, users []*subgate.SubUser, flushed, applied *atomic.Int64) error {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	u := users[rng.IntN(len(users))]
	p := []subgate.Product{res, dc}[rng.IntN(2)]
	tr := subgate.Transfer{Scope: subgate.Scope(u.ResellerID), SubUserID: u.ID, Product: p}
	switch i % 4 {
	case 0: // give
		tr.Bytes = 1 + rng.Int64N(5000)
	case 1: // take
		tr.Bytes = -(1 + rng.Int64N(5000))
	case 2: // a keyed give that a twin goroutine repeats: applied once
		u = users[0]
		tr.SubUserID, tr.Product, tr.Bytes, tr.IdempotencyKey = u.ID, res, 1000, fmt.Sprintf("twin-%d", i/8)
	default:
		return meterUsage(ctx, s, i, u, p, rng, flushed)
	}
	if _, err := s.Transfer(ctx, tr); err != nil {
		return err
	}
	applied.Add(1)
	return nil
}

func meterUsage(ctx context.Context, s subgate.Store, i int, u *subgate.SubUser, p subgate.Product, rng *rand.Rand, flushed *atomic.Int64) error {
	node := fmt.Sprintf("node-%d", i)
	now := time.Now()
	g, err := s.AcquireLease(ctx, subgate.LeaseRequest{Node: node, SubUserID: u.ID, Product: p, Want: 1 + rng.Int64N(3000), TTL: time.Minute, Now: now})
	if err != nil || g == 0 {
		return err
	}
	used := rng.Int64N(g + 1)
	b := subgate.UsageBatch{ID: subgate.NewHash(), Node: node, Now: time.Now(), LeaseTTL: time.Minute,
		Items:   []subgate.UsageItem{{SubUserID: u.ID, Product: p, Hour: subgate.HourOf(now), Bytes: used}},
		Release: []subgate.LeaseRelease{{SubUserID: u.ID, Product: p, Bytes: g - used}}}
	if err := s.FlushUsage(ctx, b); err != nil {
		return err
	}
	flushed.Add(used)
	return s.FlushUsage(ctx, b) // a retried flush changes nothing
}
