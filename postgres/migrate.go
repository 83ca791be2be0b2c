package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate/internal/storeutil"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey serialises schema changes of nodes starting at once.
const migrationLockKey int64 = 0x5375_6267_6d69_6772 // "Subgmigr"

// migrate applies the migrations not applied yet, each in its own
// transaction. Nodes starting at once take turns by a transaction-level
// advisory lock, taken again by each transaction: a session lock would
// outlive its session's turn behind a pooler in transaction mode (the
// unlock may run on another server connection), and every later start
// would wait for it.
func migrate(ctx context.Context, cfg *pgx.ConnConfig) error {
	ms, err := storeutil.Migrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck
	var applied map[int]bool
	err = lockedMigrationTx(ctx, conn, func(tx pgx.Tx) (err error) {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("migrations table: %w", err)
		}
		applied, err = appliedMigrations(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		err := lockedMigrationTx(ctx, conn, func(tx pgx.Tx) error {
			var done bool // by a node that held the lock meanwhile
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil || done {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// lockedMigrationTx runs fn in a transaction holding the migration lock.
func lockedMigrationTx(ctx context.Context, conn *pgx.Conn, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		return fn(tx)
	})
}

// appliedMigrations reads the versions applied already.
func appliedMigrations(ctx context.Context, tx pgx.Tx) (map[int]bool, error) {
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[v] = true
	}
	return applied, err
}
