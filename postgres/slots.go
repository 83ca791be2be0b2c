package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// slotLockClass is the first key of the two-key advisory lock that
// serialises a sub-user's slot requests (see egressLockClass).
const slotLockClass int32 = 0x536c6f74 // "Slot"

// AcquireSlots implements subgate.Store.
func (s *Store) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	var grant int64
	now := dbTime(r.Now)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		grant = 0
		var held int64
		err := runSteps(ctx, tx,
			step{sql: `SELECT pg_advisory_xact_lock($1::int, ($2::bigint % 2147483647)::int)`,
				args: []any{slotLockClass, r.SubUserID}, scan: []any{new(any)}},
			step{sql: `DELETE FROM conn_slots WHERE subuser_id = $1 AND expires_at <= $2`, args: []any{r.SubUserID, now}},
			step{sql: `SELECT coalesce(sum(slots), 0) FROM conn_slots WHERE subuser_id = $1`, args: []any{r.SubUserID}, scan: []any{&held}})
		if err != nil {
			return err
		}
		grant = subgate.SlotGrant(r.Cap, held, r.Want)
		if grant == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO conn_slots (subuser_id, node, slots, expires_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (subuser_id, node) DO UPDATE SET slots = conn_slots.slots + excluded.slots, expires_at = excluded.expires_at`,
			r.SubUserID, r.Node, grant, dbTime(r.Now.Add(r.TTL)))
		return err
	})
	if err != nil {
		return 0, err
	}
	return grant, nil
}

// SyncSlots implements subgate.Store.
func (s *Store) SyncSlots(ctx context.Context, sy subgate.SlotSync) ([]subgate.SlotHold, error) {
	var c columns
	for _, h := range sy.Holds {
		c.add(h.SubUserID, max(h.Slots, 0))
	}
	var out []subgate.SlotHold
	now := dbTime(sy.Now)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		b := &pgx.Batch{}
		if c.n > 0 {
			b.Queue(`UPDATE conn_slots c SET slots = least(c.slots, v.slots), expires_at = $2
				FROM unnest($4::bigint[], $5::bigint[]) AS v(id, slots)
				WHERE c.subuser_id = v.id AND c.node = $1 AND c.expires_at > $3
				RETURNING c.subuser_id, c.slots`, append([]any{sy.Node, dbTime(sy.Now.Add(sy.TTL)), now}, c.cols...)...)
		}
		b.Queue(`DELETE FROM conn_slots WHERE node = $1 AND slots = 0`, sy.Node)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if c.n > 0 {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			held, err := pgx.CollectRows(rows, pgx.RowToStructByPos[subgate.SlotHold])
			if err != nil {
				return err
			}
			for _, h := range held {
				if h.Slots > 0 {
					out = append(out, h)
				}
			}
		}
		if _, err := br.Exec(); err != nil {
			return err
		}
		return br.Close()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
