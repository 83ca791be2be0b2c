package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/subgate/subgate"
)

// serveIdempotent runs a write request carrying an Idempotency-Key at most
// once per caller and key: a retry gets the first answer again (same status
// and body), a retry racing the first request gets 409, and the same key on
// a different request is 409 too. A 5xx answer is not kept: a retry runs
// again. The key also reaches the service, so
// ledger movements are applied once even if this record were lost.
func (s *Server) serveIdempotent(ctx context.Context, w http.ResponseWriter, r *request, fn handlerFunc) {
	if len(r.idemKey) > 255 {
		s.writeError(w, r.Request, subgate.Invalidf("Idempotency-Key", "must be at most 255 characters"))
		return
	}
	rec := &subgate.IdempotencyRecord{
		Principal:   principalKey(r.principal),
		Key:         r.idemKey,
		Fingerprint: fingerprint(r),
		CreatedAt:   s.svc.Now(),
	}
	prev, err := s.svc.Store.BeginIdempotent(ctx, rec)
	if err != nil {
		s.writeError(w, r.Request, err)
		return
	}
	if prev != nil {
		s.replay(w, r, prev, rec.Fingerprint)
		return
	}
	status, body := s.run(ctx, r, fn)
	rec.Status, rec.Body = status, body
	if status >= 500 {
		// A server failure is not the request's answer: abandon the record
		// (status 0) so a retry runs the request again.
		rec.Status, rec.Body = 0, nil
	}
	// The request may have used up its store deadline (a slow database):
	// recording the answer, or abandoning the record so a retry runs
	// again, gets a short one of its own rather than leaving the record
	// pending until it is abandoned (subgate.IdempotencyAbandonAfter).
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if err := s.svc.Store.FinishIdempotent(fctx, rec); err != nil {
		s.logger.Error("recording idempotent answer", "key", rec.Key, "err", err)
	}
	writeRaw(w, status, body)
}

// finishTimeout bounds recording an idempotent answer.
const finishTimeout = time.Second

func (s *Server) replay(w http.ResponseWriter, r *request, prev *subgate.IdempotencyRecord, fp string) {
	switch {
	case prev.Fingerprint != fp:
		s.writeError(w, r.Request, subgate.Errorf(subgate.ECONFLICT, "Idempotency-Key was already used for a different request"))
	case prev.Status == 0:
		s.writeError(w, r.Request, subgate.Errorf(subgate.ECONFLICT, "a request with this Idempotency-Key is still in progress"))
	default:
		w.Header().Set("Idempotent-Replayed", "true")
		writeRaw(w, prev.Status, prev.Body)
	}
}

// fingerprint identifies a request by method, path and body.
func fingerprint(r *request) string {
	h := sha256.Sum256(r.body)
	return r.Method + " " + r.URL.Path + " " + hex.EncodeToString(h[:])
}
