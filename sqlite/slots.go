package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/subgate/subgate"
)

// AcquireSlots implements subgate.Store.
func (s *Store) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	var grant int64
	now := unixNano(r.Now)
	err := s.update(ctx, func(tx *wtx) error {
		grant = 0
		if _, err := tx.ExecContext(ctx, `DELETE FROM conn_slots WHERE subuser_id = ? AND expires_at <= ?`, r.SubUserID, now); err != nil {
			return err
		}
		var held int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(slots), 0) FROM conn_slots WHERE subuser_id = ?`, r.SubUserID).Scan(&held); err != nil {
			return err
		}
		grant = subgate.SlotGrant(r.Cap, held, r.Want)
		if grant == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO conn_slots (subuser_id, node, slots, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (subuser_id, node) DO UPDATE SET slots = slots + excluded.slots, expires_at = excluded.expires_at`,
			r.SubUserID, r.Node, grant, unixNano(r.Now.Add(r.TTL)))
		return err
	})
	if err != nil {
		return 0, err
	}
	return grant, nil
}

// SyncSlots implements subgate.Store.
func (s *Store) SyncSlots(ctx context.Context, sy subgate.SlotSync) ([]subgate.SlotHold, error) {
	var out []subgate.SlotHold
	now, until := unixNano(sy.Now), unixNano(sy.Now.Add(sy.TTL))
	err := s.update(ctx, func(tx *wtx) error {
		out = out[:0]
		for _, h := range sy.Holds {
			var slots int64
			err := tx.QueryRowContext(ctx, `UPDATE conn_slots SET slots = min(slots, ?), expires_at = ?
				WHERE subuser_id = ? AND node = ? AND expires_at > ? RETURNING slots`,
				max(h.Slots, 0), until, h.SubUserID, sy.Node, now).Scan(&slots)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if slots > 0 {
				out = append(out, subgate.SlotHold{SubUserID: h.SubUserID, Slots: slots})
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM conn_slots WHERE node = ? AND slots = 0`, sy.Node)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
