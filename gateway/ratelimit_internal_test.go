package gateway

import (
	"strconv"
	"testing"
	"time"

	"github.com/subgate/subgate/internal/loginlimit"
)

// The configured per-source bound, a /48 ten times that, and the fixed
// per-username bounds (their behaviour is loginlimit's, tested there and
// over sockets in ratelimit_test.go).
func TestAuthLimiterLimits(t *testing.T) {
	got := newAuthLimiter(2, 20, 100).Limits()
	want := loginlimit.Limits{
		Source:  loginlimit.Rate{Burst: 20, Every: 500 * time.Millisecond},
		Network: loginlimit.Rate{Burst: 200, Every: 50 * time.Millisecond},
		Pair:    loginlimit.Rate{Burst: 10, Every: 10 * time.Second},
		Account: loginlimit.Rate{Burst: 50, Every: 5 * time.Second},
		Trust:   24 * time.Hour,
		Max:     100,
	}
	if got != want {
		t.Fatalf("limits %+v, want %+v", got, want)
	}
}

func TestMissCacheCatchesUpOncePerMiss(t *testing.T) {
	m := newMissCache()
	now := time.Now()
	if !m.first(now, "user", "alice") {
		t.Fatal("first miss did not catch up")
	}
	if m.first(now.Add(time.Second), "user", "alice") {
		t.Fatal("the same miss caught up twice")
	}
	if !m.first(now.Add(time.Second), "user", "bob") {
		t.Fatal("another miss did not catch up")
	}
	if !m.first(now.Add(missTTL+time.Second), "user", "alice") {
		t.Fatal("a miss did not catch up again after missTTL")
	}
	// A spray of new misses is bounded by the shared budget.
	later := now.Add(time.Hour)
	allowed := 0
	for i := range 1000 {
		if m.first(later, "user", strconv.Itoa(i)) {
			allowed++
		}
	}
	if allowed != missRefreshB {
		t.Fatalf("%d of 1000 new misses caught up at once, want %d", allowed, missRefreshB)
	}
}
