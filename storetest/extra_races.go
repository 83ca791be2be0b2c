package storetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// RunExtra runs contract cases that race callers against each other beyond
// Run's mixed-calls case: competing creates, replays of one idempotency key
// at once, multi-sub-user flushes from several nodes in clashing orders, and
// leases that expired by the store's clock. open must return a fresh store.
func RunExtra(t *testing.T, open func(t *testing.T) subgate.Store) {
	for _, tc := range extraTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv(t, open(t))) })
	}
}

var extraTests = []test{
	{"RacingCreatesOfOneUsername", racingCreates},
	{"RacingReplaysOfOneKey", racingReplays},
	{"ClashingMultiUserFlushes", clashingFlushes},
	{"ExpiredLeasesHoldNothing", expiredLeases},
}

// parallel runs fn(i) for i in [0, n) at once and waits, bounded in time.
func parallel(t *testing.T, n int, fn func(i int)) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("concurrent calls did not finish in 60 s")
	}
}

func racingCreates(t *testing.T, e *env) {
	r := e.reseller(map[subgate.Product]int64{res: 1000})
	const n = 16
	username := name("racer")
	errs := make([]error, n)
	parallel(t, n, func(i int) {
		un := username
		if i%2 == 1 {
			un = strings.ToUpper(un) // usernames are unique case-insensitively
		}
		u := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: un, Password: "pw12345", Status: subgate.StatusActive}
		errs[i] = e.s.CreateSubUser(e.ctx, u, map[subgate.Product]int64{res: 10}, "")
	})
	won := 0
	for i, err := range errs {
		switch subgate.ErrorCode(err) {
		case "":
			won++
		case subgate.ECONFLICT:
		default:
			t.Errorf("create %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d racing creates of one username succeeded, want 1", won)
	}
	if got := e.pool(r.ID, res); got != 990 {
		t.Fatalf("pool %d after one create of 10 bytes, want 990", got)
	}
	if n, err := e.s.CountSubUsers(e.ctx, r.ID); err != nil || n != 1 {
		t.Fatalf("CountSubUsers = %d, %v; want 1", n, err)
	}
	CheckInvariant(t, e.s, r.ID)
}

func racingReplays(t *testing.T, e *env) {
	r := e.reseller(map[subgate.Product]int64{res: 10_000})
	u := e.subUser(r.ID, nil)
	const n = 16
	errs := make([]error, n)
	parallel(t, n, func(i int) {
		var got *subgate.SubUser
		got, errs[i] = e.transfer(u, res, 100, "same-key")
		if errs[i] == nil && got.Traffic[res].Available != 100 {
			errs[i] = fmt.Errorf("replay answered available %d, want 100", got.Traffic[res].Available)
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("transfer %d: %v", i, err)
		}
	}
	e.traffic(u.ID, res, 100, 0)
	if got := e.pool(r.ID, res); got != 9_900 {
		t.Fatalf("pool %d after one keyed give of 100, want 9900", got)
	}
	// Creates with one key: every caller gets the sub-user made the first time.
	made := make([]*subgate.SubUser, n)
	parallel(t, n, func(i int) {
		c := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: name("keyed"), Password: "pw12345", Status: subgate.StatusActive}
		errs[i] = e.s.CreateSubUser(e.ctx, c, map[subgate.Product]int64{res: 50}, "create-key")
		made[i] = c
	})
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("keyed create %d: %v", i, errs[i])
		}
		if made[i].ID != made[0].ID || made[i].Username != made[0].Username {
			t.Fatalf("keyed create %d made %d (%s), another made %d (%s)", i, made[i].ID, made[i].Username, made[0].ID, made[0].Username)
		}
	}
	if got := e.pool(r.ID, res); got != 9_850 {
		t.Fatalf("pool %d after one keyed create of 50, want 9850", got)
	}
	CheckInvariant(t, e.s, r.ID)
}

func clashingFlushes(t *testing.T, e *env) {
	r := e.reseller(map[subgate.Product]int64{res: 10_000_000})
	var users []*subgate.SubUser
	for range 8 {
		users = append(users, e.subUser(r.ID, map[subgate.Product]int64{res: 1_000_000}))
	}
	now := time.Now()
	const nodes, rounds = 4, 5
	var mu sync.Mutex
	var flushed int64
	errs := make([]error, nodes)
	parallel(t, nodes, func(n int) {
		node := fmt.Sprint("node", n)
		rng := rand.New(rand.NewPCG(uint64(n), 11))
		for round := range rounds {
			order := rng.Perm(len(users)) // each node locks sub-users in its own order
			var items []subgate.UsageItem
			var sum int64
			for _, i := range order {
				u := users[i]
				g, err := e.s.AcquireLease(e.ctx, subgate.LeaseRequest{Node: node, SubUserID: u.ID, Product: res, Want: 1000, TTL: time.Minute, Now: now})
				if err != nil {
					errs[n] = err
					return
				}
				items = append(items, use(u.ID, res, now, g))
				sum += g
			}
			b := subgate.UsageBatch{ID: fmt.Sprintf("%s-%d", node, round), Node: node, Now: now, Items: items, LeaseTTL: time.Minute}
			if err := e.s.FlushUsage(e.ctx, b); err != nil {
				errs[n] = err
				return
			}
			mu.Lock()
			flushed += sum
			mu.Unlock()
		}
	})
	for n, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", n, err)
		}
	}
	var used int64
	for _, u := range users {
		used += e.get(u.ID).TotalUsed()
	}
	if used != flushed || flushed != nodes*rounds*int64(len(users))*1000 {
		t.Fatalf("used %d, flushed %d, want %d", used, flushed, nodes*rounds*len(users)*1000)
	}
	CheckInvariant(t, e.s, r.ID)
}

func expiredLeases(t *testing.T, e *env) {
	r := e.reseller(map[subgate.Product]int64{res: 1000})
	u := e.subUser(r.ID, map[subgate.Product]int64{res: 500})
	v := e.subUser(r.ID, map[subgate.Product]int64{res: 300})
	past := time.Now().Add(-time.Hour) // expired by any clock the store keeps
	for _, id := range []int64{u.ID, v.ID} {
		if g := e.lease("gone", id, res, 200, time.Minute, past); g != 200 {
			t.Fatalf("lease = %d, want 200", g)
		}
	}
	if _, err := e.transfer(u, res, -500, ""); err != nil {
		t.Fatalf("take of bytes under an expired lease: %v", err)
	}
	e.must(e.s.DeleteSubUser(e.ctx, subgate.Scope(r.ID), v.ID, time.Now()))
	if got := e.pool(r.ID, res); got != 1000 {
		t.Fatalf("pool %d after take and delete, want all 1000 back", got)
	}
	CheckInvariant(t, e.s, r.ID)
}
