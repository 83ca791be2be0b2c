package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Setting returns the value of key, "" when unset.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, dbError(err)
}

// SetSetting stores value under key.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return dbError(err)
}

// SetSettingIfAbsent stores value unless key exists and reports whether it stored.
func (s *Store) SetSettingIfAbsent(ctx context.Context, key, value string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO NOTHING`, key, value)
	if err != nil {
		return false, dbError(err)
	}
	return tag.RowsAffected() == 1, nil
}
