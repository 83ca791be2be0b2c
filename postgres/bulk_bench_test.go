package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// BenchmarkBulkChanges measures sub-user changes per second made by bulk
// updates (UpdateSubUsers) of batch sub-users each, every writer updating
// a set of sub-users of its own, reported like BenchmarkChanges: changes/s
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
			b.Run(fmt.Sprintf("bulk=%d/writers=%d", batch, writers), func(b *testing.B) {
				reportBareRatio(b, bare, runWritersOf(b, writers, batch, func(w, i int) error {
					note := fmt.Sprint(i)
					_, err := st.UpdateSubUsers(ctx, 0, subgate.SubUserBulkUpdate{Refs: sets[w], Update: subgate.SubUserUpdate{Note: &note}},
						func(*subgate.SubUser) error { return nil }, time.Now())
					return err
				}))
			})
		}
	}
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
