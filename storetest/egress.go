package storetest

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// admitEgress asks the store to admit key for u on the day of now.
func (e *env) admitEgress(id int64, now time.Time, key string, cap int64, list bool) subgate.EgressAdmission {
	e.t.Helper()
	a, err := e.s.AdmitEgress(e.ctx, subgate.EgressRequest{SubUserID: id, DayKey: subgate.Windows{}.DayKey(now),
		Key: key, Cap: cap, ListKeys: list})
	e.must(err)
	return a
}

var egressTests = []test{
	{"NewKeysStopAtTheCapKnownKeysStayAdmitted", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 2000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		v := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		if a := e.admitEgress(u.ID, t0, "198.51.100.1", 2, true); !a.Admitted || a.Count != 1 || !slices.Equal(a.Keys, []string{"198.51.100.1"}) {
			t.Fatalf("first key: %+v", a)
		}
		if a := e.admitEgress(u.ID, t0, "session-b", 2, false); !a.Admitted || a.Count != 2 || a.Keys != nil {
			t.Fatalf("second key: %+v", a)
		}
		if a := e.admitEgress(u.ID, t0, "session-c", 2, true); a.Admitted || a.Count != 2 ||
			!slices.Equal(a.Keys, []string{"198.51.100.1", "session-b"}) {
			t.Fatalf("a third key past a cap of 2 was not refused: %+v", a)
		}
		// A key the day holds is admitted with the cap full, and again later.
		for range 2 {
			if a := e.admitEgress(u.ID, t0.Add(time.Hour), "198.51.100.1", 2, false); !a.Admitted || a.Count != 2 {
				t.Fatalf("a known key with the cap full: %+v", a)
			}
		}
		// A lower cap than the day holds still admits known keys only.
		if a := e.admitEgress(u.ID, t0, "session-b", 1, false); !a.Admitted {
			t.Fatalf("a known key under a lowered cap: %+v", a)
		}
		if a := e.admitEgress(u.ID, t0, "session-d", 1, false); a.Admitted {
			t.Fatalf("a new key under a lowered cap: %+v", a)
		}
		// Another sub-user and the next day count apart; no cap admits all.
		if a := e.admitEgress(v.ID, t0, "session-c", 2, false); !a.Admitted || a.Count != 1 {
			t.Fatalf("another sub-user's first key: %+v", a)
		}
		if a := e.admitEgress(u.ID, t0.Add(24*time.Hour), "session-c", 2, true); !a.Admitted || a.Count != 1 ||
			!slices.Equal(a.Keys, []string{"session-c"}) {
			t.Fatalf("next day's first key: %+v", a)
		}
		if a := e.admitEgress(u.ID, t0, "session-e", 0, false); !a.Admitted || a.Count != 3 {
			t.Fatalf("a new key without a cap: %+v", a)
		}
	}},
	{"AdmittedAndFlushedKeysAreOneSet", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 2000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		e.must(e.s.FlushUsage(e.ctx, subgate.UsageBatch{ID: subgate.NewHash(), Node: "a", Now: t0,
			Items:  []subgate.UsageItem{use(u.ID, res, t0, 1)},
			Egress: []subgate.EgressUse{{SubUserID: u.ID, Key: "flushed"}}}))
		if a := e.admitEgress(u.ID, t0, "flushed", 2, false); !a.Admitted || a.Count != 1 {
			t.Fatalf("a key recorded by a flush: %+v", a)
		}
		if a := e.admitEgress(u.ID, t0, "admitted", 2, false); !a.Admitted || a.Count != 2 {
			t.Fatalf("a second key: %+v", a)
		}
		if got := e.get(u.ID).Usage.IPsUsed; got != 2 {
			t.Fatalf("IPsUsed = %d, want the flushed and the admitted key", got)
		}
	}},
	{"RacingNewKeysNeverPassTheCap", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 2000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 1000})
		const cap, racers = 3, 12
		var admitted atomic.Int64
		parallel(t, racers, func(i int) {
			a, err := e.s.AdmitEgress(e.ctx, subgate.EgressRequest{SubUserID: u.ID, DayKey: subgate.Windows{}.DayKey(t0),
				Key: "session-" + itoa(i), Cap: cap})
			if err != nil {
				t.Error(err)
				return
			}
			if a.Admitted {
				admitted.Add(1)
			}
		})
		a := e.admitEgress(u.ID, t0, "session-0", cap, true)
		if admitted.Load() != cap || a.Count != cap || len(a.Keys) != cap {
			t.Fatalf("%d of %d racing new keys admitted, store holds %v: want exactly %d", admitted.Load(), racers, a.Keys, cap)
		}
	}},
}
