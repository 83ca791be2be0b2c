package sqlite

import (
	"context"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

// maybeHousekeep runs housekeeping after a committed flush, at most once per
// storeutil.HousekeepingEvery of flush time. A failure leaves the rows for the next
// run and fails nothing: the flush it follows is already committed.
func (s *Store) maybeHousekeep(ctx context.Context, b subgate.UsageBatch) {
	if !s.housekeeping.Due(b.Now, storeutil.HousekeepingEvery) {
		return
	}
	s.update(ctx, func(tx *wtx) error { return s.housekeep(ctx, tx, b.Now, b.Windows) }) //nolint:errcheck // best effort, see above
}

// housekeep settles expired leases of deleted sub-users and deletes rows
// nothing reads any more: expired leases and connection slots, old egress
// keys, idempotency records and expired login tokens.
func (s *Store) housekeep(ctx context.Context, tx *wtx, now time.Time, ws subgate.Windows) error {
	if err := s.sweepDeleted(ctx, tx, now); err != nil {
		return err
	}
	for _, q := range []struct {
		sql string
		arg any
	}{
		{`DELETE FROM leases WHERE expires_at <= ?`, unixNano(now)},
		{`DELETE FROM conn_slots WHERE expires_at <= ?`, unixNano(now)},
		{`DELETE FROM egress WHERE day_key < ?`, ws.DayKey(now.Add(-subgate.EgressRetention))},
		{`DELETE FROM idempotency WHERE created_at < ?`, unixNano(now.Add(-subgate.IdempotencyRetention))},
		{`DELETE FROM tokens WHERE kind <> '` + string(subgate.TokenAPI) + `' AND expires_at < ?`, unixNano(now.Add(-subgate.SessionTokenRetention))},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.arg); err != nil {
			return err
		}
	}
	return nil
}

// sweepDeleted finds deleted sub-users with expired leases and gives their
// pools what those leases held: nothing can use it any more.
func (s *Store) sweepDeleted(ctx context.Context, tx *wtx, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT l.subuser_id FROM leases l JOIN subusers s ON s.id = l.subuser_id
		WHERE l.expires_at <= ? AND s.deleted_at IS NOT NULL ORDER BY 1 LIMIT ?`, unixNano(now), storeutil.SweepBatch)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		u, err := s.loadSubUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE subuser_id = ? AND expires_at <= ?`, id, unixNano(now)); err != nil {
			return err
		}
		if err := s.returnUnleased(ctx, tx, u, now); err != nil {
			return err
		}
	}
	return nil
}

// returnUnleased gives the pool what a deleted sub-user holds beyond its
// live leases.
func (s *Store) returnUnleased(ctx context.Context, tx *wtx, u *subgate.SubUser, now time.Time) error {
	leased, err := liveLeases(ctx, tx, u.ID, now)
	if err != nil {
		return err
	}
	for _, p := range subgate.Products {
		if back := u.Traffic[p].Available - leased[p]; back > 0 {
			if err := s.returnToPool(ctx, tx, u.ResellerID, u.ID, p, back); err != nil {
				return err
			}
		}
	}
	return nil
}
