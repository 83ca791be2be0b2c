package subgate_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func TestParseFunding(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want subgate.Funding
		ok   bool
	}{
		{"", subgate.FundingAllocated, true},
		{"allocated", subgate.FundingAllocated, true},
		{"shared", subgate.FundingShared, true},
		{"Shared", "", false},
		{"pooled", "", false},
	} {
		got, err := subgate.ParseFunding("funding", tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %q, %v", tc.in, got, err)
		}
		if err != nil && err.(*subgate.Error).Field != "funding" {
			t.Errorf("%q: field %q", tc.in, err.(*subgate.Error).Field)
		}
	}
	c := subgate.SubUserCreate{Username: "shared_one", Funding: "pooled"}
	if err := c.Validate(time.Now()); subgate.ErrorCode(err) != subgate.EINVALID || err.(*subgate.Error).Field != "funding" {
		t.Fatalf("create with an unknown mode: %v", err)
	}
	c = subgate.SubUserCreate{Username: "shared_one", Funding: subgate.FundingShared, Traffic: map[subgate.Product]int64{"res": 5}}
	if err := c.Validate(time.Now()); subgate.ErrorCode(err) != subgate.EINVALID || err.(*subgate.Error).Field != "traffic" {
		t.Fatalf("shared with initial traffic: %v", err)
	}
	empty := subgate.Funding("")
	if err := (&subgate.SubUserUpdate{Funding: &empty}).Validate(); subgate.ErrorCode(err) != subgate.EINVALID {
		t.Fatalf("update to an empty mode: %v", err)
	}
}

func TestSharedBudget(t *testing.T) {
	now := time.Now()
	u := &subgate.SubUser{Status: subgate.StatusActive, Funding: subgate.FundingShared,
		Pool:    map[subgate.Product]int64{"res": 1000, "*": 200},
		Traffic: map[subgate.Product]subgate.Traffic{"res": {Used: 100}}}
	if b := u.Budget("res", subgate.WindowUsage{}); b != 1200 {
		t.Fatalf("budget = %d, want the res and * pools", b)
	}
	u.Limits.UsageCap = 600
	if b := u.Budget("res", subgate.WindowUsage{}); b != 500 {
		t.Fatalf("budget under a cap = %d, want 500", b)
	}
	if g := subgate.LeaseGrant(u, "res", subgate.WindowUsage{}, 800, 0, 1000, now); g != 200 {
		t.Fatalf("grant with 800 of the pool leased elsewhere = %d, want 200", g)
	}
	big := &subgate.SubUser{Status: subgate.StatusActive, Funding: subgate.FundingShared,
		Pool: map[subgate.Product]int64{"res": 160 << 20}}
	if g := subgate.LeaseGrant(big, "res", subgate.WindowUsage{}, 0, 0, 64<<20, now); g != 10<<20 {
		t.Fatalf("one grant on a pool = %d, want a sixteenth of it", g)
	}
	if g := subgate.LeaseGrant(big, "res", subgate.WindowUsage{}, 160<<20-1000, 0, 64<<20, now); g != 1000 {
		t.Fatalf("the last bytes of a pool = %d, want all 1000", g)
	}
	u.Pool = map[subgate.Product]int64{}
	r := u.Check("res", now, subgate.WindowUsage{})
	if r == nil || r.Code != subgate.ReasonTrafficExhausted {
		t.Fatalf("dry pool: %v", r)
	}
	if rem := u.Remaining(subgate.WindowUsage{}); rem["res"] != 0 {
		t.Fatalf("remaining %v", rem)
	}
}

func TestFundingReturns(t *testing.T) {
	u := &subgate.SubUser{Funding: subgate.FundingAllocated,
		Traffic: map[subgate.Product]subgate.Traffic{"res": {Available: 40, Used: 5}, "dc": {Used: 9}}}
	if got := subgate.FundingReturns(u, subgate.FundingShared); len(got) != 1 || got["res"] != 40 {
		t.Fatalf("to shared returns %v", got)
	}
	if got := subgate.FundingReturns(u, subgate.FundingAllocated); len(got) != 0 {
		t.Fatalf("no switch returns %v", got)
	}
	u.Funding = subgate.FundingShared
	if got := subgate.FundingReturns(u, subgate.FundingAllocated); len(got) != 0 {
		t.Fatalf("to allocated returns %v", got)
	}
}

func TestCharge(t *testing.T) {
	for _, tc := range []struct{ have, n, charged, over int64 }{
		{100, 30, 30, 0}, {100, 100, 100, 0}, {100, 130, 100, 30}, {0, 5, 0, 5}, {-3, 5, 0, 5},
	} {
		if c, o := subgate.Charge(tc.have, tc.n); c != tc.charged || o != tc.over {
			t.Errorf("Charge(%d, %d) = %d, %d", tc.have, tc.n, c, o)
		}
	}
}

// TestAccountingProperty drives random moves through the rules both stores
// apply (Charge, FundingReturns, LeaseGrant) and the ledger reading
// (AddLedger), and checks the balances and the ledger agree to the byte.
func TestAccountingProperty(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 3))
		var line subgate.AuditLine
		pool := int64(0)
		u := &subgate.SubUser{Status: subgate.StatusActive, Funding: subgate.FundingAllocated,
			Traffic: map[subgate.Product]subgate.Traffic{"res": {}}}
		entry := func(k subgate.LedgerKind, n int64) {
			if n > 0 {
				line.AddLedger(k, n)
			}
		}
		for range 200 {
			t := u.Traffic["res"]
			switch n := rng.Int64N(1000); rng.IntN(5) {
			case 0:
				pool += n
				entry(subgate.LedgerCredit, n)
			case 1:
				if !u.Shared() && n <= pool {
					pool -= n
					t.Available += n
					entry(subgate.LedgerGive, n)
				}
			case 2:
				u.Pool = map[subgate.Product]int64{"res": pool}
				g := subgate.LeaseGrant(u, "res", subgate.WindowUsage{}, 0, 0, n, time.Now())
				if u.Shared() {
					c, _ := subgate.Charge(pool, g)
					pool -= c
					t.Used += c
					entry(subgate.LedgerPoolUsage, c)
				} else {
					c, _ := subgate.Charge(t.Available, g)
					t.Available -= c
					t.Used += c
					entry(subgate.LedgerUsage, c)
				}
			case 3:
				to := []subgate.Funding{subgate.FundingAllocated, subgate.FundingShared}[rng.IntN(2)]
				back := subgate.FundingReturns(u, to)["res"]
				t.Available -= back
				pool += back
				entry(subgate.LedgerReturn, back)
				u.Funding = to
			case 4:
				if !u.Shared() {
					n = min(n, t.Available)
					t.Available -= n
					pool += n
					entry(subgate.LedgerTake, n)
				}
			}
			u.Traffic["res"] = t
		}
		tr := u.Traffic["res"]
		if pool+tr.Available+tr.Used != line.Credited-line.Debited ||
			line.LedgerPool != pool || line.LedgerAvailable != tr.Available || line.LedgerUsed != tr.Used {
			t.Fatalf("seed %d: pool %d available %d used %d; ledger %+v", seed, pool, tr.Available, tr.Used, line)
		}
	}
}
