package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

var amountLimitTests = []test{
	{"CreditPastTheHoldingIsRefused", func(t *testing.T, e *env) {
		const max = subgate.MaxBytes
		r := e.reseller(map[subgate.Product]int64{res: max - 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 600})
		now := time.Now()
		if g := e.lease("n1", u.ID, res, 400, time.Minute, now); g != 400 {
			t.Fatalf("lease granted %d, want 400", g)
		}
		e.flush("n1", now, []subgate.UsageItem{use(u.ID, res, now, 400)}, nil)
		// Held: pool max-1600, available 200, used 400.
		e.refusedCredit(r.ID, res, 1001, max-1000)
		e.must(e.credit(r.ID, res, 1000))
		e.refusedCredit(r.ID, res, 1, max)
		e.must(e.credit(r.ID, res, -100))
		e.must(e.credit(r.ID, res, 100))
		// A deleted sub-user's used bytes stay held; its available return.
		e.must(e.s.DeleteSubUser(e.ctx, subgate.Scope(r.ID), u.ID, now))
		e.refusedCredit(r.ID, res, 1, max)
		// Other products are held separately.
		e.must(e.credit(r.ID, dc, max))
		if p := e.pool(r.ID, res); p != max-400 {
			t.Fatalf("pool = %d, want %d", p, max-400)
		}
		if n := len(e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID), Kind: subgate.LedgerCredit})); n != 4 {
			t.Fatalf("%d credits in the ledger, want 4 (refused credits must write nothing)", n)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"EveryProductAtTheMaximum", func(t *testing.T, e *env) {
		full := map[subgate.Product]int64{}
		for _, p := range subgate.Products {
			full[p] = subgate.MaxBytes
		}
		r := e.reseller(full)
		u := e.subUser(r.ID, full)
		got := e.get(u.ID)
		if sum := got.TotalAvailable(); sum != int64(len(subgate.Products))*subgate.MaxBytes {
			t.Fatalf("total available = %d", sum)
		}
		page, err := e.s.SubUsers(e.ctx, subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Sort: subgate.SortAvailable, Limit: 10})
		e.must(err)
		if len(page.Items) != 1 || page.Items[0].ID != u.ID {
			t.Fatalf("list by available = %+v", page.Items)
		}
		_, err = e.s.UpdateSubUserTraffic(e.ctx, subgate.Scope(r.ID), u.ID, subgate.SubUserUpdate{},
			subgate.TrafficTarget{Product: res, Available: 0}, "", time.Now())
		e.must(err)
		_, err = e.s.UpdateSubUserTraffic(e.ctx, subgate.Scope(r.ID), u.ID, subgate.SubUserUpdate{},
			subgate.TrafficTarget{Product: res, Available: subgate.MaxBytes}, "", time.Now())
		e.must(err)
		for _, p := range subgate.Products {
			e.refusedCredit(r.ID, p, 1, subgate.MaxBytes)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"ConcurrentCreditsStayUnderTheMaximum", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		u := e.subUser(r.ID, nil)
		const quarter = subgate.MaxBytes/4 + 1
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = e.credit(r.ID, res, quarter) })
		}
		// Gives move bytes between the pool and the sub-user meanwhile;
		// they must not let a credit miss what they moved.
		for range 8 {
			wg.Go(func() { e.transfer(u, res, 1000, "") })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch subgate.ErrorCode(err) {
			case "":
				ok++
			case subgate.EINVALID:
			default:
				t.Fatalf("credit: %v", err)
			}
		}
		if ok != 3 {
			t.Fatalf("%d credits of a quarter of the maximum (+1) succeeded, want 3", ok)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
}

func (e *env) credit(resellerID int64, p subgate.Product, b int64) error {
	_, err := e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: resellerID, Product: p, Bytes: b})
	return err
}

// refusedCredit fails unless crediting b bytes of p is refused, with the
// same message from every store, and leaves the pool as it was.
func (e *env) refusedCredit(resellerID int64, p subgate.Product, b, held int64) {
	e.t.Helper()
	before := e.pool(resellerID, p)
	err := e.credit(resellerID, p, b)
	wantCode(e.t, err, subgate.EINVALID)
	want := fmt.Sprintf("bytes would make the reseller hold more than the maximum of 1000000000000000000 bytes (1 EB) of %s: "+
		"its pool and its sub-users' available and used traffic hold %d bytes, at most %d more can be credited",
		p, held, subgate.MaxBytes-held)
	if f, m := subgate.ErrorField(err), subgate.ErrorMessage(err); f != "bytes" || m != want {
		e.t.Fatalf("refused credit: field %q, message %q; want field bytes, message %q", f, m, want)
	}
	if after := e.pool(resellerID, p); after != before {
		e.t.Fatalf("a refused credit changed the %s pool from %d to %d", p, before, after)
	}
}
