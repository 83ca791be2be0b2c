package sqlite

import (
	"context"

	"github.com/subgate/subgate"
)

// AcquireLease implements subgate.Store.
func (s *Store) AcquireLease(ctx context.Context, r subgate.LeaseRequest) (int64, error) {
	var grant int64
	err := s.update(ctx, func(tx *wtx) error {
		u, err := s.loadSubUser(ctx, tx, r.SubUserID)
		if err != nil {
			return err
		}
		now := unixNano(r.Now)
		if _, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE subuser_id = ? AND expires_at <= ?`, u.ID, now); err != nil {
			return err
		}
		if u.DeletedAt != nil {
			// What the dropped leases held can go back to the pool now.
			return s.returnUnleased(ctx, tx, u, r.Now)
		}
		leased, err := liveLeases(ctx, tx, u.ID, r.Now)
		if err != nil {
			return err
		}
		var total int64
		for _, b := range leased {
			total += b
		}
		onSource := leased[r.Product]
		if u.Shared() {
			if onSource, err = poolLeased(ctx, tx, u.ResellerID, r.Product, r.Now); err != nil {
				return err
			}
		}
		grant = subgate.LeaseGrant(u, r.Product, u.Usage.At(r.Windows, r.Now), onSource, total, r.Want, r.Now)
		if grant <= 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO leases (subuser_id, product, node, bytes, expires_at, pool_reseller_id) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (subuser_id, product, node) DO UPDATE SET bytes = bytes + excluded.bytes, expires_at = excluded.expires_at,
				pool_reseller_id = excluded.pool_reseller_id`,
			u.ID, string(r.Product), r.Node, grant, unixNano(r.Now.Add(r.TTL)), subgate.PoolOf(u))
		return err
	})
	if err != nil {
		return 0, err
	}
	return grant, nil
}
