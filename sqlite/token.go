package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/subgate/subgate"
)

// CreateToken implements subgate.Store.
func (s *Store) CreateToken(ctx context.Context, t *subgate.Token) error {
	t.CreatedAt = s.now().UTC()
	res, err := s.write.ExecContext(ctx, `INSERT INTO tokens (reseller_id, kind, hash, prefix, created_at, expires_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ResellerID, string(t.Kind), t.Hash, t.Prefix, unixNano(t.CreatedAt),
		nullTime(t.ExpiresAt), nullTime(t.RevokedAt))
	switch {
	case isUnique(err):
		return subgate.Errorf(subgate.ECONFLICT, "token already exists")
	case err != nil && isForeignKey(err):
		return subgate.NotFound("reseller")
	case err != nil:
		return err
	}
	t.ID, err = res.LastInsertId()
	return err
}

const tokenColumns = `id, reseller_id, kind, hash, prefix, created_at, expires_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (*subgate.Token, error) {
	var t subgate.Token
	var kind string
	var created int64
	var expires, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.ResellerID, &kind, &t.Hash, &t.Prefix, &created, &expires, &revoked); err != nil {
		return nil, err
	}
	t.Kind, t.CreatedAt, t.ExpiresAt, t.RevokedAt = subgate.TokenKind(kind), fromNano(created), timePtr(expires), timePtr(revoked)
	return &t, nil
}

// TokenByHash implements subgate.Store.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*subgate.Token, error) {
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, subgate.NotFound("token")
	}
	return t, err
}

// Tokens implements subgate.Store.
func (s *Store) Tokens(ctx context.Context, resellerID int64) ([]*subgate.Token, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE reseller_id = ? ORDER BY id`, resellerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*subgate.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements subgate.Store. Revoking twice keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, resellerID, tokenID int64, at time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND reseller_id = ?`,
		unixNano(at), tokenID, resellerID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = subgate.NotFound("token")
		}
		return err
	}
	return nil
}
