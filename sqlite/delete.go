package sqlite

import (
	"context"
	"time"

	"github.com/subgate/subgate"
)

// DeleteSubUser implements subgate.Store.
func (s *Store) DeleteSubUser(ctx context.Context, scope subgate.Scope, id int64, at time.Time) error {
	return s.update(ctx, func(tx *wtx) error {
		u, err := s.liveSubUser(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		leased, err := liveLeases(ctx, tx, id, at)
		if err != nil {
			return err
		}
		for _, p := range subgate.Products {
			back := u.Traffic[p].Available - leased[p]
			if back <= 0 {
				continue
			}
			if err := s.returnToPool(ctx, tx, u.ResellerID, id, p, back); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subusers SET deleted_at = ? WHERE id = ?`, unixNano(at), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resellers SET live_subusers = live_subusers - 1 WHERE id = ?`, u.ResellerID); err != nil {
			return err
		}
		return touch(ctx, tx, id, at)
	})
}

// returnToPool moves b available bytes of a sub-user back to the pool.
func (s *Store) returnToPool(ctx context.Context, tx *wtx, resellerID, id int64, p subgate.Product, b int64) error {
	if err := addAvailable(ctx, tx, id, p, -b); err != nil {
		return err
	}
	if err := addToPool(ctx, tx, resellerID, p, b); err != nil {
		return err
	}
	return s.addLedger(ctx, tx, ledgerRow{resellerID: resellerID, subUserID: id, product: p, kind: subgate.LedgerReturn, bytes: b})
}

// liveLeases sums the leases on a sub-user that are live at now, per balance.
func liveLeases(ctx context.Context, q querier, id int64, now time.Time) (map[subgate.Product]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT product, sum(bytes) FROM leases WHERE subuser_id = ? AND expires_at > ? GROUP BY product`,
		id, unixNano(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[subgate.Product]int64{}
	for rows.Next() {
		var p string
		var b int64
		if err := rows.Scan(&p, &b); err != nil {
			return nil, err
		}
		m[subgate.Product(p)] = b
	}
	return m, rows.Err()
}
