package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/postgres"
)

// BenchmarkChanges measures sub-user changes per second committed by
// concurrent writers on one store (a pool connection each), each writer
// changing sub-users of its own: note updates, gives of one byte, and
// creates without traffic. Each is also reported as a ratio to bare
// one-row UPDATE transactions by as many writers on a pool of the same
// size, measured in the same run (bare/...): the ratio carries over to a
// bigger server, whose bare update rate says what changes/s it can take.
func BenchmarkChanges(b *testing.B) {
	ctx := context.Background()
	for _, writers := range []int{1, 8, 32} {
		var bare float64
		b.Run(fmt.Sprintf("bare/writers=%d", writers), func(b *testing.B) { bare = runBare(b, writers) })
		b.Run(fmt.Sprintf("update/writers=%d", writers), func(b *testing.B) {
			st, r := changesBenchStore(b, writers)
			users := benchSubUsers(b, st, r, writers)
			reportBareRatio(b, bare, runWriters(b, writers, func(w, i int) error {
				note := fmt.Sprint(i)
				_, err := st.UpdateSubUser(ctx, 0, users[w].ID, subgate.SubUserUpdate{Note: &note}, time.Now())
				return err
			}))
		})
		b.Run(fmt.Sprintf("give/writers=%d", writers), func(b *testing.B) {
			st, r := changesBenchStore(b, writers)
			if _, err := st.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: subgate.ProductResidential, Bytes: subgate.MaxBytes}); err != nil {
				b.Fatal(err)
			}
			users := benchSubUsers(b, st, r, writers)
			reportBareRatio(b, bare, runWriters(b, writers, func(w, i int) error {
				_, err := st.Transfer(ctx, subgate.Transfer{SubUserID: users[w].ID, Product: subgate.ProductResidential, Bytes: 1})
				return err
			}))
		})
		b.Run(fmt.Sprintf("create/writers=%d", writers), func(b *testing.B) {
			st, r := changesBenchStore(b, writers)
			prefix := subgate.NewHash()
			reportBareRatio(b, bare, runWriters(b, writers, func(w, i int) error {
				return st.CreateSubUser(ctx, newSubUser(r.ID, fmt.Sprintf("%s_%d_%d", prefix, w, i)), nil, "")
			}))
		})
	}
}

// runBare runs one-row UPDATE transactions by writers on a pool of that
// size, each writer on a row of its own, and returns their rate.
func runBare(b *testing.B, writers int) float64 {
	ctx := context.Background()
	st, _ := changesBenchStore(b, writers)
	pool := st.Pool()
	if _, err := pool.Exec(ctx, `CREATE TABLE bare_updates (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0);
		INSERT INTO bare_updates (id) SELECT generate_series(0, `+fmt.Sprint(writers-1)+`)`); err != nil {
		b.Fatal(err)
	}
	return runWriters(b, writers, func(w, i int) error {
		_, err := pool.Exec(ctx, `UPDATE bare_updates SET n = n + 1 WHERE id = $1`, w)
		return err
	})
}

// changesBenchStore opens a store on a fresh schema with a pool of size
// writers and creates a reseller.
func changesBenchStore(b *testing.B, writers int) (*postgres.Store, *subgate.Reseller) {
	db := newTestDB(b)
	db.url += fmt.Sprintf("&pool_max_conns=%d", writers)
	st := db.open(b)
	r := &subgate.Reseller{Name: "bench"}
	if err := st.CreateReseller(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	return st, r
}

// benchSubUsers creates one sub-user for each writer.
func benchSubUsers(b *testing.B, st *postgres.Store, r *subgate.Reseller, writers int) []*subgate.SubUser {
	users := make([]*subgate.SubUser, writers)
	for i := range users {
		users[i] = newSubUser(r.ID, fmt.Sprintf("w%d_%s", i, subgate.NewHash()))
		if err := st.CreateSubUser(context.Background(), users[i], nil, ""); err != nil {
			b.Fatal(err)
		}
	}
	return users
}

// runWriters runs b.N calls of op spread over writers goroutines (op gets
// the writer and the call's number), reports and returns their rate.
func runWriters(b *testing.B, writers int, op func(w, i int) error) float64 {
	return runWritersOf(b, writers, 1, op)
}

// runWritersOf is runWriters for ops that each make perOp changes.
func runWritersOf(b *testing.B, writers, perOp int, op func(w, i int) error) float64 {
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
	rate := float64(b.N*perOp) / time.Since(start).Seconds()
	b.ReportMetric(rate, "changes/s")
	return rate
}

// reportBareRatio reports changes/s as a share of the bare updates/s
// measured by as many writers just before (0 when that was not run).
func reportBareRatio(b *testing.B, bare, rate float64) {
	if bare > 0 {
		b.ReportMetric(rate/bare, "of-bare")
	}
}
