package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// CreateToken stores a token's hash; fills ID and CreatedAt.
func (s *Store) CreateToken(ctx context.Context, t *subgate.Token) error {
	created := s.stamp()
	err := s.pool.QueryRow(ctx, `INSERT INTO tokens (reseller_id, kind, hash, prefix, created_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		t.ResellerID, string(t.Kind), t.Hash, t.Prefix, created, dbTimePtr(t.ExpiresAt), dbTimePtr(t.RevokedAt)).Scan(&t.ID)
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) && pe.SQLState() == "23503" {
		return subgate.NotFound("reseller")
	}
	if uniqueViolation(err, "") {
		return subgate.Errorf(subgate.ECONFLICT, "token exists")
	}
	if err != nil {
		return dbError(err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = created, dbTimePtr(t.ExpiresAt), dbTimePtr(t.RevokedAt)
	return nil
}

const tokenCols = `id, reseller_id, kind, hash, prefix, created_at, expires_at, revoked_at`

func scanToken(row pgx.Row) (*subgate.Token, error) {
	t := &subgate.Token{}
	var kind string
	err := row.Scan(&t.ID, &t.ResellerID, &kind, &t.Hash, &t.Prefix, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, subgate.NotFound("token")
	}
	t.Kind = subgate.TokenKind(kind)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = t.CreatedAt.UTC(), utcPtr(t.ExpiresAt), utcPtr(t.RevokedAt)
	return t, err
}

// TokenByHash finds a token by the hash of its secret.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*subgate.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash))
	return t, dbError(err)
}

// Tokens lists a reseller's tokens by id.
func (s *Store) Tokens(ctx context.Context, resellerID int64) ([]*subgate.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE reseller_id = $1 ORDER BY id`, resellerID)
	if err != nil {
		return nil, dbError(err)
	}
	ts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*subgate.Token, error) { return scanToken(row) })
	return ts, dbError(err)
}

// RevokeToken revokes a reseller's token; revoking twice keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, resellerID, tokenID int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, $3)
		WHERE id = $1 AND reseller_id = $2`, tokenID, resellerID, dbTime(at))
	if err != nil {
		return dbError(err)
	}
	if tag.RowsAffected() == 0 {
		return subgate.NotFound("token")
	}
	return nil
}
