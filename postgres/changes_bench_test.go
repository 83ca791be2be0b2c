package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// BenchmarkChanges measures sub-user changes per second committed by
// concurrent writers on one store (a pool connection each), each writer
// changing sub-users of its own: note updates, and creates without traffic.
func BenchmarkChanges(b *testing.B) {
	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("update/writers=%d", writers), func(b *testing.B) {
			st, r := changesBenchStore(b, writers)
			users := make([]*subgate.SubUser, writers)
			for i := range users {
				users[i] = newSubUser(r.ID, fmt.Sprintf("w%d_%s", i, subgate.NewHash()))
				if err := st.CreateSubUser(context.Background(), users[i], nil, ""); err != nil {
					b.Fatal(err)
				}
			}
			runWriters(b, writers, func(w, i int) error {
				note := fmt.Sprint(i)
				_, err := st.UpdateSubUser(context.Background(), 0, users[w].ID, subgate.SubUserUpdate{Note: &note}, time.Now())
				return err
			})
		})
		b.Run(fmt.Sprintf("create/writers=%d", writers), func(b *testing.B) {
			st, r := changesBenchStore(b, writers)
			prefix := subgate.NewHash()
			runWriters(b, writers, func(w, i int) error {
				return st.CreateSubUser(context.Background(), newSubUser(r.ID, fmt.Sprintf("%s_%d_%d", prefix, w, i)), nil, "")
			})
		})
	}
}

// changesBenchStore opens a store on a fresh schema with a pool of size
// writers and creates a reseller.
func changesBenchStore(b *testing.B, writers int) (subgate.Store, *subgate.Reseller) {
	db := newTestDB(b)
	db.url += fmt.Sprintf("&pool_max_conns=%d", writers)
	st := db.open(b)
	r := &subgate.Reseller{Name: "bench"}
	if err := st.CreateReseller(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	return st, r
}

// runWriters runs b.N calls of op spread over writers goroutines (op gets
// the writer and the call's number) and reports changes/s.
func runWriters(b *testing.B, writers int, op func(w, i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for i := int(next.Add(1)); i <= b.N; i = int(next.Add(1)) {
				if err := op(w, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "changes/s")
}
