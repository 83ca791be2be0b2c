package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/subgate/subgate"
)

// TestIdempotentAnswerSealedAtRest reads the database files themselves: an
// answer holding a fresh API token must not appear, while the record's
// fingerprint (stored plainly) does, which shows the scan would have found it.
func TestIdempotentAnswerSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "subgate.db"))
	ctx := context.Background()
	const fp, token = "POST /v1/plainly-stored-fingerprint", "sgr_Very-Distinct-Fresh-Token-3"
	rec := &subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: fp}
	if prev, err := s.BeginIdempotent(ctx, rec); err != nil || prev != nil {
		t.Fatalf("begin: %v %v", prev, err)
	}
	rec.Status, rec.Body = 201, []byte(`{"token":"`+token+`"}`)
	if err := s.FinishIdempotent(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	all, files := databaseBytes(t, dir)
	if !bytes.Contains(all, []byte(fp)) {
		t.Fatalf("fingerprint not found in %v: the scan cannot see stored text", files)
	}
	if bytes.Contains(all, []byte(token)) {
		t.Fatal("the idempotent answer is stored in plain text")
	}
	s = openAt(t, filepath.Join(dir, "subgate.db"))
	prev, err := s.BeginIdempotent(ctx, &subgate.IdempotencyRecord{Principal: "admin", Key: "k", Fingerprint: fp})
	if err != nil || prev == nil || !bytes.Equal(prev.Body, rec.Body) {
		t.Fatalf("reopened: %+v, %v", prev, err)
	}
}
