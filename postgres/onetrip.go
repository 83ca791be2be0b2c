package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// inOneTrip runs steps as a READ COMMITTED transaction of their own sent in
// one round trip: BEGIN, the steps and COMMIT go in one batch. The server
// runs the steps until one fails and then rolls back the lot. The steps'
// checks, scans and reads run here once the COMMIT has been sent, so a
// check may only report an outcome that committing leaves harmless (a row
// not found), never one that must undo the other steps (a pool too short):
// such steps run in inTx.
func (s *Store) inOneTrip(ctx context.Context, steps ...step) error {
	return s.oneTripWith(ctx, `BEGIN ISOLATION LEVEL READ COMMITTED`, steps)
}

// readInOneTrip runs read-only steps in one snapshot (REPEATABLE READ), in
// one round trip.
func (s *Store) readInOneTrip(ctx context.Context, steps ...step) error {
	return s.oneTripWith(ctx, `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`, steps)
}

func (s *Store) oneTripWith(ctx context.Context, begin string, steps []step) error {
	var err error
	for range maxTxAttempts {
		err = s.oneTrip(ctx, begin, steps)
		if !retryable(err) {
			break
		}
	}
	return dbError(err)
}

func (s *Store) oneTrip(ctx context.Context, begin string, steps []step) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection left inside a transaction is closed, not pooled again.
	defer conn.Release()
	all := make([]step, 0, len(steps)+2)
	all = append(all, step{sql: begin})
	all = append(all, steps...)
	err = runSteps(ctx, conn, append(all, step{sql: `COMMIT`, check: committed})...)
	if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
		// A step failed: the server skipped the rest and keeps the failed
		// transaction open until told to roll it back.
		_, _ = conn.Exec(ctx, `ROLLBACK`)
	}
	return err
}

// committed checks that a COMMIT committed: on a failed transaction the
// server answers ROLLBACK.
func committed(tag pgconn.CommandTag) error {
	if tag.String() != "COMMIT" {
		return fmt.Errorf("transaction rolled back at commit (%s)", tag)
	}
	return nil
}

// inTxSteps runs steps as a READ COMMITTED transaction in two round trips:
// BEGIN with the steps, then COMMIT once every check has passed (a failed
// check rolls the steps back).
func (s *Store) inTxSteps(ctx context.Context, steps ...step) error {
	var err error
	for range maxTxAttempts {
		err = s.txSteps(ctx, steps)
		if !retryable(err) {
			break
		}
	}
	return dbError(err)
}

func (s *Store) txSteps(ctx context.Context, steps []step) error {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	queueSteps(b, steps)
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	// Once committed, rolling back does nothing.
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	_, err := br.Exec()
	if err == nil {
		err = readSteps(br, steps)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return tx.Commit(ctx)
}
