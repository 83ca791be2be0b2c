package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

// batchRetention is how long applied batch IDs are remembered; nodes retry
// a failed flush within seconds.
const batchRetention = 7 * 24 * time.Hour

// maybeHousekeep runs housekeeping after a committed flush, at most once per
// storeutil.HousekeepingEvery of flush time. A failure leaves the rows for the next
// run and fails nothing: the flush it follows is already committed.
func (s *Store) maybeHousekeep(ctx context.Context, b subgate.UsageBatch) {
	if !s.housekeeping.Due(b.Now, storeutil.HousekeepingEvery) {
		return
	}
	now := dbTime(b.Now)
	if err := s.sweepDeleted(ctx, now); err != nil {
		return // best effort, see above
	}
	// Rows nothing reads any more. Leases of deleted sub-users were settled
	// by the sweep; one expiring since is left for the next run. The batch
	// is one transaction: lease and slot rows another transaction holds
	// (a lease or slot request deleting its own expired ones) are skipped,
	// not waited for, so it never waits while holding others.
	q := &pgx.Batch{}
	q.Queue(`DELETE FROM leases WHERE (subuser_id, product, node) IN (SELECT l.subuser_id, l.product, l.node
		FROM leases l JOIN subusers s ON s.id = l.subuser_id WHERE l.expires_at <= $1 AND s.deleted_at IS NULL
		FOR UPDATE OF l SKIP LOCKED)`, now)
	q.Queue(`DELETE FROM usage_batches WHERE applied_at < $1`, now.Add(-batchRetention))
	q.Queue(`DELETE FROM conn_slots WHERE (subuser_id, node) IN (SELECT subuser_id, node FROM conn_slots
		WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED)`, now)
	q.Queue(`DELETE FROM egress WHERE day_key < $1`, b.Windows.DayKey(b.Now.Add(-subgate.EgressRetention)))
	q.Queue(`DELETE FROM idempotency WHERE created_at < $1`, now.Add(-subgate.IdempotencyRetention))
	q.Queue(`DELETE FROM tokens WHERE kind <> $1 AND expires_at < $2`, string(subgate.TokenAPI), now.Add(-subgate.SessionTokenRetention))
	s.pool.SendBatch(ctx, q).Close() //nolint:errcheck // best effort, see above
}

// sweepDeleted finds deleted sub-users with expired leases and gives their
// pools what those leases held: nothing can use it any more. Each sub-user
// is settled in its own short transaction under its row lock.
func (s *Store) sweepDeleted(ctx context.Context, now time.Time) error {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT l.subuser_id FROM leases l JOIN subusers s ON s.id = l.subuser_id
		WHERE l.expires_at <= $1 AND s.deleted_at IS NOT NULL ORDER BY 1 LIMIT $2`, now, storeutil.SweepBatch)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			u, leased, err := s.lockForLease(ctx, tx, id, now)
			if err != nil {
				return err
			}
			return runSteps(ctx, tx, returnUnleased(u, leased, now)...)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// returnUnleased gives the pool what a deleted sub-user holds beyond its
// live leases, in product order.
func returnUnleased(u *subgate.SubUser, leased map[subgate.Product]int64, at time.Time) []step {
	var steps []step
	var returned int64
	for _, p := range sortedProducts(u.Traffic) {
		if back := u.Traffic[p].Available - leased[p]; back > 0 {
			steps = append(steps, returnToPool(u, p, back, at)...)
			returned += back
		}
	}
	if returned > 0 {
		steps = append(steps, step{sql: `UPDATE totals SET available = available - $2 WHERE subuser_id = $1`, args: []any{u.ID, returned}})
	}
	return steps
}
