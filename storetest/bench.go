package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// Bench runs the shared store benchmarks. open must return a fresh store.
func Bench(b *testing.B, open func(b *testing.B) subgate.Store) {
	setup := func(b *testing.B, users int) (*env, *subgate.Reseller, []*subgate.SubUser) {
		e := newEnv(b, open(b))
		r := e.reseller(map[subgate.Product]int64{res: subgate.MaxBytes / 2})
		list := make([]*subgate.SubUser, users)
		for i := range list {
			list[i] = e.subUser(r.ID, map[subgate.Product]int64{res: 1_000_000})
		}
		return e, r, list
	}
	b.Run("CreateSubUser", func(b *testing.B) {
		e, r, _ := setup(b, 0)
		start := time.Now()
		for b.Loop() {
			e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
	})
	b.Run("SubUserByID", func(b *testing.B) {
		e, _, list := setup(b, 100)
		i := 0
		for b.Loop() {
			e.get(list[i%len(list)].ID)
			i++
		}
	})
	b.Run("SubUserByUsername", func(b *testing.B) {
		e, _, list := setup(b, 100)
		i := 0
		for b.Loop() {
			if _, err := e.s.SubUserByUsername(e.ctx, list[i%len(list)].Username); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("ListPage50", func(b *testing.B) {
		e, r, _ := setup(b, 2000)
		i := 0
		for b.Loop() {
			e.list(subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Sort: subgate.SortUsed, Desc: true, Limit: 50, Offset: (i % 20) * 50})
			i++
		}
	})
	b.Run("Transfer", func(b *testing.B) {
		e, _, list := setup(b, 10)
		i := int64(0)
		for b.Loop() {
			u := list[i%int64(len(list))]
			if _, err := e.transfer(u, res, 1+i%2*-2, ""); err != nil { // give 1, take 1
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("LeaseAndFlush", func(b *testing.B) {
		e, _, list := setup(b, 10)
		i := 0
		for b.Loop() {
			u := list[i%len(list)]
			now := time.Now()
			g := e.lease("bench", u.ID, res, 1000, time.Minute, now)
			e.must(e.s.FlushUsage(e.ctx, subgate.UsageBatch{ID: fmt.Sprint("b", i), Node: "bench", Now: now, LeaseTTL: time.Minute,
				Items:   []subgate.UsageItem{use(u.ID, res, now, g/2)},
				Release: []subgate.LeaseRelease{{SubUserID: u.ID, Product: res, Bytes: g - g/2}}}))
			i++
		}
	})
}
