package gateway

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// BenchmarkSettleParallel is the per-step bookkeeping of many connections
// of one sub-user settling at once.
func BenchmarkSettleParallel(b *testing.B) {
	a := &account{pending: map[usageKey]int64{}, balances: map[subgate.Product]*balance{}}
	bal := &balance{acct: a, product: subgate.ProductAny}
	a.balances[bal.product] = bal
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bal.reserved.Add(1 << 10)
			a.settle(bal, 1<<10, 1<<9, now)
		}
	})
}
