package settle_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/settle"
)

var (
	t0  = time.Date(2031, 3, 14, 10, 30, 0, 0, time.UTC)
	res = subgate.ProductResidential
)

// books holds one allocated sub-user (1) and one shared sub-user (2) of
// reseller 7, each with a lease of 100 on res, and a res pool of 500.
func books() *settle.Books {
	bk := settle.NewBooks()
	bk.Rows[1] = &settle.Row{ResellerID: 7}
	bk.Rows[2] = &settle.Row{ResellerID: 7, Shared: true}
	bk.Balances[settle.BalanceKey{SubUserID: 1, Product: res}] = &subgate.Traffic{Available: 300}
	bk.Leases[settle.BalanceKey{SubUserID: 1, Product: res}] = 100
	bk.Leases[settle.BalanceKey{SubUserID: 2, Product: res}] = 100
	bk.Pools[settle.PoolKey{ResellerID: 7, Product: res}] = 500
	return bk
}

func batch(items []subgate.UsageItem, rel []subgate.LeaseRelease) subgate.UsageBatch {
	return subgate.UsageBatch{Now: t0, Items: items, Release: rel}
}

func use(id, n int64) subgate.UsageItem {
	return subgate.UsageItem{SubUserID: id, Product: res, Hour: t0, Bytes: n}
}

func TestApply(t *testing.T) {
	hour := subgate.HourOf(t0)
	k1 := settle.BalanceKey{SubUserID: 1, Product: res}
	k2 := settle.BalanceKey{SubUserID: 2, Product: res}
	pk := settle.PoolKey{ResellerID: 7, Product: res}
	cases := []struct {
		name  string
		prep  func(*settle.Books)
		b     subgate.UsageBatch
		check func(t *testing.T, bk *settle.Books)
	}{
		{"allocated usage is charged to its balance and its lease", nil,
			batch([]subgate.UsageItem{use(1, 80)}, nil), func(t *testing.T, bk *settle.Books) {
				if b := bk.Balances[k1]; b.Available != 220 || b.Used != 80 || bk.Leases[k1] != 20 {
					t.Fatalf("balance %+v lease %d", b, bk.Leases[k1])
				}
				if bk.Usage[settle.HourKey{BalanceKey: k1, Hour: hour}] != 80 || bk.Rows[1].UsedDelta != 80 || bk.Rows[1].AvailableDelta != -80 {
					t.Fatalf("usage %v row %+v", bk.Usage, bk.Rows[1])
				}
			}},
		{"allocated usage past the balance is overdraft", nil,
			batch([]subgate.UsageItem{use(1, 350)}, nil), func(t *testing.T, bk *settle.Books) {
				if bk.Balances[k1].Available != 0 || bk.Overdraft[settle.HourKey{BalanceKey: k1, Hour: hour}] != 50 || bk.Leases[k1] != 0 {
					t.Fatalf("balance %+v overdraft %v", bk.Balances[k1], bk.Overdraft)
				}
			}},
		{"shared usage is charged to the pool", nil,
			batch([]subgate.UsageItem{use(2, 120)}, nil), func(t *testing.T, bk *settle.Books) {
				if bk.Pools[pk] != 380 || bk.PoolCharged[pk] != 120 || bk.SharedUsed[k2] != 120 || bk.Leases[k2] != 0 {
					t.Fatalf("pool %d charged %v used %v", bk.Pools[pk], bk.PoolCharged, bk.SharedUsed)
				}
				if bk.PoolUsage[settle.HourKey{BalanceKey: k2, Hour: hour}] != 120 || bk.Rows[2].AvailableDelta != 0 || bk.Rows[2].UsedDelta != 120 {
					t.Fatalf("pool usage %v row %+v", bk.PoolUsage, bk.Rows[2])
				}
				if len(bk.Dry()) != 0 {
					t.Fatalf("dry %v", bk.Dry())
				}
			}},
		{"shared usage past the pool is overdraft and the pool is dry", nil,
			batch([]subgate.UsageItem{use(2, 600)}, nil), func(t *testing.T, bk *settle.Books) {
				if bk.Pools[pk] != 0 || bk.Overdraft[settle.HourKey{BalanceKey: k2, Hour: hour}] != 100 {
					t.Fatalf("pool %d overdraft %v", bk.Pools[pk], bk.Overdraft)
				}
				if d := bk.Dry(); len(d) != 1 || d[0] != 7 {
					t.Fatalf("dry %v", d)
				}
			}},
		{"a release shrinks the lease only", nil,
			batch(nil, []subgate.LeaseRelease{{SubUserID: 1, Product: res, Bytes: 150}}), func(t *testing.T, bk *settle.Books) {
				if bk.Leases[k1] != 0 || bk.Balances[k1].Available != 300 || len(bk.Returns) != 0 {
					t.Fatalf("lease %d balance %+v returns %v", bk.Leases[k1], bk.Balances[k1], bk.Returns)
				}
			}},
		{"a deleted sub-user's release goes back to the pool", func(bk *settle.Books) { bk.Rows[1].Deleted = true },
			batch(nil, []subgate.LeaseRelease{{SubUserID: 1, Product: res, Bytes: 60}}), func(t *testing.T, bk *settle.Books) {
				keys, sums := bk.ReturnedToPools()
				if len(keys) != 1 || sums[pk] != 60 || bk.Balances[k1].Available != 240 || bk.Rows[1].AvailableDelta != -60 {
					t.Fatalf("returns %v balance %+v", sums, bk.Balances[k1])
				}
			}},
		{"unknown sub-users and empty items change nothing", nil,
			batch([]subgate.UsageItem{use(9, 50), use(1, 0)}, []subgate.LeaseRelease{{SubUserID: 9, Product: res, Bytes: 5}}),
			func(t *testing.T, bk *settle.Books) {
				if len(bk.DirtyBalances) != 0 || len(bk.DirtyLeases) != 0 || len(bk.Overdraft) != 0 {
					t.Fatalf("changed: %v %v %v", bk.DirtyBalances, bk.DirtyLeases, bk.Overdraft)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bk := books()
			if c.prep != nil {
				c.prep(bk)
			}
			bk.Apply(c.b)
			c.check(t, bk)
		})
	}
}

func TestAdvanceWindow(t *testing.T) {
	for _, c := range []struct{ stored, count, key, n, wantKey, wantCount int64 }{
		{5, 10, 5, 3, 5, 13}, // same window
		{5, 10, 6, 3, 6, 3},  // a later window restarts
		{5, 10, 4, 3, 5, 10}, // a late flush of a past window is left out
	} {
		if k, n := settle.AdvanceWindow(c.stored, c.count, c.key, c.n); k != c.wantKey || n != c.wantCount {
			t.Errorf("%+v: %d, %d", c, k, n)
		}
	}
}

// TestConservation applies random batches to random books and checks that
// every byte is accounted for: what balances and pools lose is what used
// gains plus what returns to pools, and overdraft is all that usage adds
// beyond; no balance, pool or lease goes negative.
func TestConservation(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 5))
		bk := settle.NewBooks()
		products := []subgate.Product{res, subgate.ProductAny}
		var before int64
		for id := int64(1); id <= 6; id++ {
			bk.Rows[id] = &settle.Row{ResellerID: 1 + id%2, Shared: rng.IntN(2) == 0, Deleted: rng.IntN(6) == 0}
			for _, p := range products {
				k := settle.BalanceKey{SubUserID: id, Product: p}
				if !bk.Rows[id].Shared {
					bk.Balances[k] = &subgate.Traffic{Available: rng.Int64N(1000)}
					before += bk.Balances[k].Available
				}
				bk.Leases[k] = rng.Int64N(500)
			}
		}
		var items []subgate.UsageItem
		var rels []subgate.LeaseRelease
		var usage int64
		for range 20 {
			id, p := 1+rng.Int64N(7), products[rng.IntN(2)] // 7 is unknown
			n := rng.Int64N(400)
			items = append(items, subgate.UsageItem{SubUserID: id, Product: p, Hour: t0, Bytes: n})
			if bk.Rows[id] != nil {
				usage += n
			}
			rels = append(rels, subgate.LeaseRelease{SubUserID: 1 + rng.Int64N(6), Product: p, Bytes: rng.Int64N(300)})
		}
		b := batch(items, rels)
		for _, pk := range bk.PoolsNeeded(b) {
			bk.Pools[pk] = rng.Int64N(2000)
			before += bk.Pools[pk]
		}
		bk.Apply(b)
		var after, used, charged, over int64
		for k, bal := range bk.Balances {
			after += bal.Available
			used += bal.Used
			if bal.Available < 0 {
				t.Fatalf("seed %d: balance %v negative", seed, k)
			}
		}
		for _, n := range bk.Pools {
			after += n
			if n < 0 {
				t.Fatalf("seed %d: negative pool", seed)
			}
		}
		for _, n := range bk.SharedUsed {
			used += n
		}
		_, sums := bk.ReturnedToPools()
		for _, n := range sums {
			after += n
		}
		for _, m := range []map[settle.HourKey]int64{bk.Usage, bk.PoolUsage} {
			for _, n := range m {
				charged += n
			}
		}
		for _, n := range bk.Overdraft {
			over += n
		}
		if before != after+used || charged != used || charged+over != usage {
			t.Fatalf("seed %d: before %d, after %d + used %d; charged %d + overdraft %d vs usage %d",
				seed, before, after, used, charged, over, usage)
		}
		for k, n := range bk.Leases {
			if n < 0 {
				t.Fatalf("seed %d: lease %v negative", seed, k)
			}
		}
	}
}
