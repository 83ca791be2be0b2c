package sqlite

import (
	"context"

	"github.com/subgate/subgate/internal/storeutil"
)

// Ready implements subgate.Store: the file can be read and holds every
// migration of this build.
func (s *Store) Ready(ctx context.Context) error {
	rows, err := s.read.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var applied []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return err
		}
		applied = append(applied, v)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	ms, err := storeutil.Migrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	return storeutil.CheckApplied(ms, applied)
}
