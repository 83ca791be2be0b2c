package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/subgate/subgate"
)

// BeginIdempotent inserts a pending record and returns nil, or returns the
// record already stored for the same principal and key. A pending record
// older than subgate.IdempotencyAbandonAfter is taken over as if absent.
func (s *Store) BeginIdempotent(ctx context.Context, rec *subgate.IdempotencyRecord) (*subgate.IdempotencyRecord, error) {
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.stamp()
	} else {
		rec.CreatedAt = dbTime(rec.CreatedAt)
	}
	var existing *subgate.IdempotencyRecord
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		existing = nil
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency (principal, key, fingerprint, status, body, created_at)
			VALUES ($1, $2, $3, 0, NULL, $4) ON CONFLICT (principal, key) DO UPDATE
			SET fingerprint = excluded.fingerprint, status = 0, body = NULL, created_at = excluded.created_at
			WHERE idempotency.status = 0 AND idempotency.created_at < $5`,
			rec.Principal, rec.Key, rec.Fingerprint, rec.CreatedAt, rec.CreatedAt.Add(-subgate.IdempotencyAbandonAfter))
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		e := &subgate.IdempotencyRecord{}
		var sealed []byte
		err = tx.QueryRow(ctx, `SELECT principal, key, fingerprint, status, body, created_at FROM idempotency
			WHERE principal = $1 AND key = $2`, rec.Principal, rec.Key).
			Scan(&e.Principal, &e.Key, &e.Fingerprint, &e.Status, &sealed, &e.CreatedAt)
		if err != nil {
			return err
		}
		if sealed != nil {
			if e.Body, err = s.cipher.Open(sealed); err != nil {
				return err
			}
		}
		e.CreatedAt = e.CreatedAt.UTC()
		existing = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return existing, nil
}

// FinishIdempotent stores the answer of a pending record, sealed: it can
// hold secrets such as freshly issued tokens. Status 0 abandons the pending
// record instead, so a retry runs the request again. A record taken over by
// another request since (its CreatedAt differs) is left alone.
func (s *Store) FinishIdempotent(ctx context.Context, rec *subgate.IdempotencyRecord) error {
	var created *time.Time
	if !rec.CreatedAt.IsZero() {
		t := dbTime(rec.CreatedAt)
		created = &t
	}
	var tag pgconn.CommandTag
	var err error
	if rec.Status == 0 {
		tag, err = s.pool.Exec(ctx, `DELETE FROM idempotency
			WHERE principal = $1 AND key = $2 AND status = 0 AND created_at = coalesce($3, created_at)`, rec.Principal, rec.Key, created)
	} else {
		var body []byte
		if body, err = s.cipher.Seal(rec.Body); err != nil {
			return err
		}
		tag, err = s.pool.Exec(ctx, `UPDATE idempotency SET status = $3, body = $4
			WHERE principal = $1 AND key = $2 AND created_at = coalesce($5, created_at)`, rec.Principal, rec.Key, rec.Status, body, created)
	}
	if err != nil {
		return dbError(err)
	}
	if tag.RowsAffected() == 0 {
		return subgate.NotFound("idempotency record")
	}
	return nil
}
