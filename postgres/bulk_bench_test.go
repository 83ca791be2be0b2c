package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// BenchmarkBulkChanges measures sub-user changes per second made by bulk
// updates (UpdateSubUsers) of batch sub-users each, every writer updating
// a set of sub-users of its own (a note, or a limit), reported like BenchmarkChanges: changes/s
// (each sub-user in a bulk counts as one change) and the ratio to bare
// one-row UPDATE transactions by as many writers measured in the same run.
func BenchmarkBulkChanges(b *testing.B) {
	ctx := context.Background()
	for _, writers := range []int{1, 8} {
		var bare float64
		b.Run(fmt.Sprintf("bare/writers=%d", writers), func(b *testing.B) { bare = runBare(b, writers) })
		for _, batch := range []int{100, 1000} {
			// Seeded once: a sub-benchmark runs several times as b.N grows.
			st, r := changesBenchStore(b, writers)
			sets := seedBulkSets(b, st, r, writers, batch)
			for _, kind := range []string{"note", "limits"} {
				b.Run(fmt.Sprintf("bulk=%d/%s/writers=%d", batch, kind, writers), func(b *testing.B) {
					reportBareRatio(b, bare, runWritersOf(b, writers, batch, func(w, i int) error {
						_, err := st.UpdateSubUsers(ctx, 0, bulkChange(kind, sets[w], i),
							func(*subgate.SubUser) error { return nil }, time.Now())
						return err
					}))
				})
			}
		}
		if writers > 1 {
			benchSinglesBesideBulk(b, writers, bare)
		}
	}
}

// bulkChange is the i-th bulk update of refs: a new note, which the list
// search reads (so its text and indexes are rewritten too), or a new daily
// limit, which nothing lists by.
func bulkChange(kind string, refs []string, i int) subgate.SubUserBulkUpdate {
	if kind == "limits" {
		daily := int64(1_000_000 + i)
		return subgate.SubUserBulkUpdate{Refs: refs, Limits: &subgate.LimitsPatch{Daily: &daily}}
	}
	note := fmt.Sprint(i)
	return subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{Note: &note}}
}

// benchSinglesBesideBulk measures single updates by writers (changes/s,
// of-bare and p99 latency) while one more writer makes bulk updates of
// 1,000 sub-users of its own back to back (bulk-changes/s): a bulk must
// not hold up the changes of sub-users it does not name.
func benchSinglesBesideBulk(b *testing.B, writers int, bare float64) {
	const batch = 1000
	ctx := context.Background()
	st, r := changesBenchStore(b, writers+1)
	set := seedBulkSets(b, st, r, 1, batch)[0]
	users := benchSubUsers(b, st, r, writers)
	b.Run(fmt.Sprintf("singles-beside-bulk=%d/writers=%d", batch, writers), func(b *testing.B) {
		stop, done := make(chan struct{}), make(chan struct{})
		var bulked atomic.Int64
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				note := fmt.Sprint("bulk", i)
				_, err := st.UpdateSubUsers(ctx, 0, subgate.SubUserBulkUpdate{Refs: set, Update: subgate.SubUserUpdate{Note: &note}},
					func(*subgate.SubUser) error { return nil }, time.Now())
				if err != nil {
					b.Error(err)
					return
				}
				bulked.Add(batch)
			}
		}()
		lat := make([][]time.Duration, writers)
		start := time.Now()
		rate := runWriters(b, writers, func(w, i int) error {
			note, t0 := fmt.Sprint(i), time.Now()
			_, err := st.UpdateSubUser(ctx, 0, users[w].ID, subgate.SubUserUpdate{Note: &note}, time.Now())
			lat[w] = append(lat[w], time.Since(t0))
			return err
		})
		close(stop)
		elapsed := time.Since(start)
		<-done
		all := slices.Concat(lat...)
		slices.Sort(all)
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(bulked.Load())/elapsed.Seconds(), "bulk-changes/s")
		reportBareRatio(b, bare, rate)
	})
}

// seedBulkSets creates batch sub-users for each writer, writers at a time,
// and returns each writer's ids as refs.
func seedBulkSets(b *testing.B, st subgate.Store, r *subgate.Reseller, writers, batch int) [][]string {
	sets := make([][]string, writers)
	prefix := subgate.NewHash()
	var wg sync.WaitGroup
	for w := range sets {
		wg.Go(func() {
			for i := range batch {
				u := newSubUser(r.ID, fmt.Sprintf("%s_%d_%d", prefix, w, i))
				if err := st.CreateSubUser(context.Background(), u, nil, ""); err != nil {
					b.Error(err)
					return
				}
				sets[w] = append(sets[w], fmt.Sprint(u.ID))
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return sets
}
