package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate/internal/storeutil"
)

// Ready implements subgate.Store: the database answers and holds every
// migration of this build.
func (s *Store) Ready(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return dbError(err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return dbError(err)
	}
	ms, err := storeutil.Migrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	return storeutil.CheckApplied(ms, applied)
}
