package storetest

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
)

var overdraftTests = []test{
	{"OverdraftMergedPerHour", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 100})
		e.flush("a", t0, []subgate.UsageItem{use(u.ID, res, t0, 100)}, nil)
		// Nothing is left: every later byte is overdraft. Two items of one
		// hour in one batch, then another batch of the same hour, then a
		// batch of the next hour.
		e.flush("a", t0.Add(time.Second), []subgate.UsageItem{use(u.ID, res, t0, 10), use(u.ID, res, t0, 20)}, nil)
		e.flush("b", t0.Add(2*time.Second), []subgate.UsageItem{use(u.ID, res, t0, 5)}, nil)
		e.flush("a", t0.Add(time.Hour), []subgate.UsageItem{use(u.ID, res, t0.Add(time.Hour), 7)}, nil)
		over := e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerOverdraft})
		if len(over) != 2 || over[0].Bytes != 7 || over[1].Bytes != 35 ||
			!over[1].CreatedAt.Equal(subgate.HourOf(t0)) || !over[0].CreatedAt.Equal(subgate.HourOf(t0.Add(time.Hour))) {
			t.Fatalf("overdraft ledger = %s, want one row per hour: 35 then 7", fmtLedger(over))
		}
		e.traffic(u.ID, res, 0, 100)
		CheckInvariant(t, e.s, r.ID)
	}},
}
