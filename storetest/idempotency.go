package storetest

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
)

var idempotencyRecordTests = []test{
	{"AnswerReadsBackAsStored", func(t *testing.T, e *env) {
		rec := &subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: "POST /t", CreatedAt: t0}
		e.begin(rec, false)
		rec.Status, rec.Body = 201, []byte(`{"token":"sga_secret"}`)
		e.must(e.s.FinishIdempotent(e.ctx, rec))
		prev := e.begin(&subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: "POST /t", CreatedAt: t0.Add(time.Hour)}, true)
		if prev.Status != 201 || string(prev.Body) != `{"token":"sga_secret"}` {
			t.Fatalf("replayed record = %d %q", prev.Status, prev.Body)
		}
	}},
	{"AbandonedPendingIsTakenOver", func(t *testing.T, e *env) {
		old := &subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: "POST /a", CreatedAt: t0}
		e.begin(old, false)
		// Within the limit the first request may still answer.
		prev := e.begin(&subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: "POST /a",
			CreatedAt: t0.Add(subgate.IdempotencyAbandonAfter - time.Second)}, true)
		if prev.Status != 0 {
			t.Fatalf("pending record read as status %d", prev.Status)
		}
		// Past it the record is abandoned: a retry takes it over.
		retry := &subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: "POST /b",
			CreatedAt: t0.Add(subgate.IdempotencyAbandonAfter + time.Second)}
		e.begin(retry, false)
		// The first request, answering late, no longer owns the record.
		old.Status, old.Body = 200, []byte("late")
		wantCode(t, e.s.FinishIdempotent(e.ctx, old), subgate.ENOTFOUND)
		retry.Status, retry.Body = 200, []byte("retry")
		e.must(e.s.FinishIdempotent(e.ctx, retry))
		// A finished record is never taken over.
		prev = e.begin(&subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: "POST /b", CreatedAt: t0.Add(time.Hour)}, true)
		if prev.Status != 200 || string(prev.Body) != "retry" || prev.Fingerprint != "POST /b" {
			t.Fatalf("record = %d %q %q, want the retry's answer", prev.Status, prev.Body, prev.Fingerprint)
		}
	}},
	{"FinishWithStatusZeroAbandons", func(t *testing.T, e *env) {
		rec := &subgate.IdempotencyRecord{Principal: "reseller:1", Key: "k", Fingerprint: "POST /x", CreatedAt: t0}
		e.begin(rec, false)
		e.must(e.s.FinishIdempotent(e.ctx, &subgate.IdempotencyRecord{Principal: rec.Principal, Key: rec.Key, CreatedAt: rec.CreatedAt}))
		again := &subgate.IdempotencyRecord{Principal: "reseller:1", Key: "k", Fingerprint: "POST /x", CreatedAt: t0.Add(time.Second)}
		e.begin(again, false)
		again.Status = 200
		e.must(e.s.FinishIdempotent(e.ctx, again))
		// A finished answer is not abandoned.
		wantCode(t, e.s.FinishIdempotent(e.ctx, &subgate.IdempotencyRecord{Principal: rec.Principal, Key: rec.Key}), subgate.ENOTFOUND)
		if prev := e.begin(&subgate.IdempotencyRecord{Principal: "reseller:1", Key: "k", Fingerprint: "POST /x"}, true); prev.Status != 200 {
			t.Fatalf("status = %d, want the finished 200", prev.Status)
		}
	}},
}

// begin starts rec and fails unless a record existed exactly when want.
func (e *env) begin(rec *subgate.IdempotencyRecord, want bool) *subgate.IdempotencyRecord {
	e.t.Helper()
	prev, err := e.s.BeginIdempotent(e.ctx, rec)
	e.must(err)
	if (prev != nil) != want {
		e.t.Fatalf("begin %s/%s at %v: existing record %+v, want existing %v", rec.Principal, rec.Key, rec.CreatedAt, prev, want)
	}
	return prev
}
