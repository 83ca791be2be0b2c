package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/subgate/subgate"
)

var _ subgate.RoutesStore = (*Store)(nil)

// RoutesVersion implements subgate.RoutesStore.
func (s *Store) RoutesVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT version FROM stored_routes WHERE id = 1`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// StoredRoutes implements subgate.RoutesStore.
func (s *Store) StoredRoutes(ctx context.Context) (subgate.StoredRoutes, error) {
	var out subgate.StoredRoutes
	var sealed []byte
	err := s.read.QueryRowContext(ctx, `SELECT version, config FROM stored_routes WHERE id = 1`).Scan(&out.Version, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil || sealed == nil {
		return out, err
	}
	out.Config, err = s.cipher.Open(sealed)
	return out, err
}

// SetStoredRoutes implements subgate.RoutesStore. The single write
// connection orders versions.
func (s *Store) SetStoredRoutes(ctx context.Context, config []byte) (subgate.StoredRoutes, error) {
	out := subgate.StoredRoutes{Config: config}
	var sealed any // NULL drops the configuration
	if config != nil {
		b, err := s.cipher.Seal(config)
		if err != nil {
			return out, err
		}
		sealed = b
	}
	err := s.write.QueryRowContext(ctx, `INSERT INTO stored_routes (id, version, config) VALUES (1, 1, ?)
		ON CONFLICT (id) DO UPDATE SET version = stored_routes.version + 1, config = excluded.config
		RETURNING version`, sealed).Scan(&out.Version)
	return out, err
}
