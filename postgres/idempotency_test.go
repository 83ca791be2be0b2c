package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/subgate/subgate"
)

// TestIdempotentAnswerSealedAtRest reads the body column itself: an answer
// holding a fresh API token must not be stored in the clear.
func TestIdempotentAnswerSealedAtRest(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	ctx := context.Background()
	const token = "sgr_Very-Distinct-Fresh-Token-3"
	rec := &subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: "POST /v1/x"}
	if prev, err := st.BeginIdempotent(ctx, rec); err != nil || prev != nil {
		t.Fatalf("begin: %v %v", prev, err)
	}
	rec.Status, rec.Body = 201, []byte(`{"token":"`+token+`"}`)
	if err := st.FinishIdempotent(ctx, rec); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := db.admin.QueryRow(ctx, `SELECT body FROM `+db.schema+`.idempotency WHERE principal = 'admin' AND key = 'k'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) == 0 || bytes.Contains(stored, []byte(token)) {
		t.Fatalf("body column %q holds the token", stored)
	}
	prev, err := st.BeginIdempotent(ctx, &subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: "POST /v1/x"})
	if err != nil || prev == nil || !bytes.Equal(prev.Body, rec.Body) {
		t.Fatalf("replay: %+v, %v", prev, err)
	}
}
