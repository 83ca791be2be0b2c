package sqlite

import (
	"context"
	"database/sql"

	"github.com/subgate/subgate"
)

// BeginIdempotent implements subgate.Store. A pending record older than
// subgate.IdempotencyAbandonAfter is taken over as if it were absent.
func (s *Store) BeginIdempotent(ctx context.Context, rec *subgate.IdempotencyRecord) (*subgate.IdempotencyRecord, error) {
	var prev *subgate.IdempotencyRecord
	err := s.update(ctx, func(tx *wtx) error {
		if rec.CreatedAt.IsZero() {
			rec.CreatedAt = s.now().UTC()
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency (principal, key, fingerprint, status, body, created_at)
			VALUES (?1, ?2, ?3, 0, NULL, ?4) ON CONFLICT (principal, key) DO UPDATE
			SET fingerprint = excluded.fingerprint, status = 0, body = NULL, created_at = excluded.created_at
			WHERE idempotency.status = 0 AND idempotency.created_at < ?5`,
			rec.Principal, rec.Key, rec.Fingerprint, unixNano(rec.CreatedAt), unixNano(rec.CreatedAt.Add(-subgate.IdempotencyAbandonAfter)))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		p := subgate.IdempotencyRecord{Principal: rec.Principal, Key: rec.Key}
		var created int64
		var sealed []byte
		err = tx.QueryRowContext(ctx, `SELECT fingerprint, status, body, created_at FROM idempotency WHERE principal = ? AND key = ?`,
			rec.Principal, rec.Key).Scan(&p.Fingerprint, &p.Status, &sealed, &created)
		if err != nil {
			return err
		}
		if sealed != nil {
			if p.Body, err = s.cipher.Open(sealed); err != nil {
				return err
			}
		}
		p.CreatedAt = fromNano(created)
		prev = &p
		return nil
	})
	return prev, err
}

// FinishIdempotent implements subgate.Store. The body is sealed at rest: it
// can hold secrets such as freshly issued tokens. Status 0 abandons the
// pending record instead, so a retry runs the request again. A record taken
// over by another request since (its CreatedAt differs) is left alone.
func (s *Store) FinishIdempotent(ctx context.Context, rec *subgate.IdempotencyRecord) error {
	var created any // NULL matches any creation time
	if !rec.CreatedAt.IsZero() {
		created = unixNano(rec.CreatedAt)
	}
	var res sql.Result
	var err error
	if rec.Status == 0 {
		res, err = s.write.ExecContext(ctx, `DELETE FROM idempotency
			WHERE principal = ? AND key = ? AND status = 0 AND created_at = coalesce(?, created_at)`, rec.Principal, rec.Key, created)
	} else {
		var body []byte
		if body, err = s.cipher.Seal(rec.Body); err != nil {
			return err
		}
		res, err = s.write.ExecContext(ctx, `UPDATE idempotency SET status = ?, body = ?
			WHERE principal = ? AND key = ? AND created_at = coalesce(?, created_at)`, rec.Status, body, rec.Principal, rec.Key, created)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return subgate.NotFound("idempotency record")
	}
	return nil
}
