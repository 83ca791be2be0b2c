//go:build unix

package gateway_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// countingStore counts the store calls a gateway node makes while it meters.
type countingStore struct {
	subgate.Store
	calls *atomic.Int64
}

func (s countingStore) AcquireLease(ctx context.Context, r subgate.LeaseRequest) (int64, error) {
	s.calls.Add(1)
	return s.Store.AcquireLease(ctx, r)
}

func (s countingStore) FlushUsage(ctx context.Context, b subgate.UsageBatch) error {
	s.calls.Add(1)
	return s.Store.FlushUsage(ctx, b)
}

func (s countingStore) SubUser(ctx context.Context, scope subgate.Scope, ref string) (*subgate.SubUser, error) {
	s.calls.Add(1)
	return s.Store.SubUser(ctx, scope, ref)
}

func (s countingStore) SubUsersChanged(ctx context.Context, after int64, limit int) ([]*subgate.SubUser, error) {
	s.calls.Add(1)
	return s.Store.SubUsersChanged(ctx, after, limit)
}

// BenchmarkSharedVsAllocated opens tunnels of many sub-users of one
// reseller, each downloading perTunnel bytes, on one SQLite node or two
// nodes sharing PostgreSQL, once with allocated and once with shared
// sub-users; it reports tunnels/s and store round trips per GB relayed:
//
//	go test -run '^$' -bench SharedVsAllocated -benchtime 2000x ./gateway
func BenchmarkSharedVsAllocated(b *testing.B) {
	const perTunnel = 1 << 20
	for _, st := range []struct {
		name  string
		open  func(testing.TB) *shared
		nodes int
		users int
	}{
		{"sqlite", sharedSQLite, 1, 100},
		{"postgres-2nodes", sharedPG, 2, 1000},
	} {
		for _, funding := range []subgate.Funding{subgate.FundingAllocated, subgate.FundingShared} {
			b.Run(fmt.Sprintf("%s/users=%d/%s", st.name, st.users, funding), func(b *testing.B) {
				s := st.open(b)
				var names []string
				for i := range st.users {
					n := fmt.Sprintf("user%d", i)
					var traffic map[subgate.Product]int64
					if funding == subgate.FundingAllocated {
						traffic = map[subgate.Product]int64{subgate.ProductAny: 10 * gb / int64(st.users)}
					}
					s.createUser(n, traffic, func(c *subgate.SubUserCreate) { c.Funding = funding })
					names = append(names, n)
				}
				var calls atomic.Int64
				var nodes []*gateway.Gateway
				for range st.nodes {
					nodes = append(nodes, s.node(func(c *gateway.Config) { c.Store = countingStore{s.store, &calls} }))
				}
				o := newBenchOrigin(b)
				var next atomic.Int64
				b.ResetTimer()
				calls.Store(0)
				start := time.Now()
				var wg sync.WaitGroup
				var failed atomic.Value
				for w := range 8 {
					wg.Go(func() {
						buf := make([]byte, 64<<10)
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							node := nodes[(int(i)+w)%len(nodes)]
							c, bad := connectVia(b, node.ProxyAddr().String(), names[i%int64(len(names))], testPassword, o.addr)
							if bad != nil {
								failed.Store(bad.Header.Get("X-Subgate-Error"))
								return
							}
							if err := download(c, perTunnel, buf); err != nil {
								failed.Store(err.Error())
							}
							c.Close()
						}
					})
				}
				wg.Wait()
				took := time.Since(start)
				b.StopTimer()
				if f := failed.Load(); f != nil {
					b.Fatalf("a tunnel failed: %v", f)
				}
				for _, n := range nodes {
					n.Flush(context.Background())
				}
				b.ReportMetric(float64(b.N)/took.Seconds(), "tunnels/s")
				b.ReportMetric(float64(calls.Load())/(float64(b.N)*perTunnel/float64(gb)), "storecalls/GB")
			})
		}
	}
}
