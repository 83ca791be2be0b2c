package storetest

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// Housekeeping runs after a flush, at most once a minute of flush time; a
// fresh store runs it on its first flush.
var housekeepingTests = []test{
	{"ExpiredLeaseOfDeletedSubUserReturnsOnFlush", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 500})
		e.lease("a", u.ID, res, 300, time.Minute, t0)
		e.must(e.s.DeleteSubUser(e.ctx, subgate.Scope(r.ID), u.ID, t0))
		if p := e.pool(r.ID, res); p != 700 {
			t.Fatalf("pool after delete = %d, want 700 (the leased 300 stays)", p)
		}
		// Node a crashes; its lease expires. Another node's flush settles it.
		e.flush("b", t0.Add(2*time.Minute), nil, nil)
		if p := e.pool(r.ID, res); p != 1000 {
			t.Fatalf("pool after the lease expired = %d, want 1000", p)
		}
		e.flush("b", t0.Add(4*time.Minute), nil, nil)
		returns := e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerReturn})
		if len(returns) != 2 || returns[0].Bytes+returns[1].Bytes != 500 {
			t.Fatalf("return ledger = %s, want 200 then 300", fmtLedger(returns))
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"LiveLeaseOfDeletedSubUserStays", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 500})
		e.lease("a", u.ID, res, 300, time.Minute, t0)
		e.lease("c", u.ID, res, 100, 10*time.Minute, t0)
		e.must(e.s.DeleteSubUser(e.ctx, subgate.Scope(r.ID), u.ID, t0))
		e.flush("b", t0.Add(2*time.Minute), nil, nil)
		// a's 300 returns; c's 100 is still live and may yet be used.
		if p := e.pool(r.ID, res); p != 900 {
			t.Fatalf("pool = %d, want 900", p)
		}
		e.flush("c", t0.Add(3*time.Minute), []subgate.UsageItem{use(u.ID, res, t0, 40)}, []subgate.LeaseRelease{{SubUserID: u.ID, Product: res, Bytes: 60}})
		if p := e.pool(r.ID, res); p != 960 {
			t.Fatalf("pool after c settled = %d, want 960", p)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"ExpiredLeaseOfDeletedSubUserReturnsOnLease", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 500})
		e.lease("a", u.ID, res, 300, time.Minute, t0)
		e.must(e.s.DeleteSubUser(e.ctx, subgate.Scope(r.ID), u.ID, t0))
		// A lease request drops the expired lease; its bytes go back too.
		if g := e.lease("b", u.ID, res, 100, time.Minute, t0.Add(2*time.Minute)); g != 0 {
			t.Fatalf("grant on a deleted sub-user = %d", g)
		}
		if p := e.pool(r.ID, res); p != 1000 {
			t.Fatalf("pool = %d, want 1000", p)
		}
		e.flush("b", t0.Add(3*time.Minute), nil, nil)
		if p := e.pool(r.ID, res); p != 1000 {
			t.Fatalf("pool after a flush = %d, want 1000", p)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"PrunesOldIdempotencyRecords", func(t *testing.T, e *env) {
		old := &subgate.IdempotencyRecord{Principal: "admin", Key: "old", Fingerprint: "POST /a", CreatedAt: t0}
		e.begin(old, false)
		old.Status = 200
		e.must(e.s.FinishIdempotent(e.ctx, old))
		recent := &subgate.IdempotencyRecord{Principal: "admin", Key: "recent", Fingerprint: "POST /a", CreatedAt: t0.Add(2 * time.Hour)}
		e.begin(recent, false)
		recent.Status = 200
		e.must(e.s.FinishIdempotent(e.ctx, recent))
		now := t0.Add(subgate.IdempotencyRetention + time.Hour)
		e.flush("a", now, nil, nil)
		e.begin(&subgate.IdempotencyRecord{Principal: "admin", Key: "old", Fingerprint: "POST /b", CreatedAt: now}, false)
		e.begin(&subgate.IdempotencyRecord{Principal: "admin", Key: "recent", Fingerprint: "POST /a", CreatedAt: now}, true)
	}},
	{"PrunesExpiredLoginTokens", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		token := func(secret string, kind subgate.TokenKind, exp time.Time) {
			e.must(e.s.CreateToken(e.ctx, &subgate.Token{ResellerID: r.ID, Kind: kind, Hash: subgate.HashSecret(secret), Prefix: secret, ExpiresAt: &exp}))
		}
		token("nn_old", subgate.TokenNetNut, t0)
		token("nn_recent", subgate.TokenNetNut, t0.Add(24*time.Hour))
		token("dash_old", subgate.TokenDashboard, t0)
		token("self_old", subgate.TokenSubUserDashboard, t0)
		token("api_old", subgate.TokenAPI, t0)
		e.flush("a", t0.Add(25*time.Hour+time.Minute), nil, nil)
		for _, s := range []string{"nn_old", "dash_old", "self_old"} {
			_, err := e.s.TokenByHash(e.ctx, subgate.HashSecret(s))
			wantCode(t, err, subgate.ENOTFOUND)
		}
		for _, s := range []string{"nn_recent", "api_old"} {
			if _, err := e.s.TokenByHash(e.ctx, subgate.HashSecret(s)); err != nil {
				t.Fatalf("token %s: %v", s, err)
			}
		}
	}},
	{"HousekeepingAtMostOnceAMinute", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 500})
		e.lease("a", u.ID, res, 300, time.Second, t0)
		e.must(e.s.DeleteSubUser(e.ctx, subgate.Scope(r.ID), u.ID, t0))
		e.flush("b", t0.Add(-time.Second), nil, nil) // runs: nothing has expired yet
		e.flush("b", t0.Add(30*time.Second), nil, nil)
		if p := e.pool(r.ID, res); p != 700 {
			t.Fatalf("pool = %d, want 700 until the next run", p)
		}
		e.flush("b", t0.Add(time.Minute), nil, nil)
		if p := e.pool(r.ID, res); p != 1000 {
			t.Fatalf("pool = %d, want 1000", p)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
}
