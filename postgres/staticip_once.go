package postgres

import (
	"cmp"
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// AllocateStaticIPsOnce implements subgate.StaticIPOnceStore. The key is
// looked up under the allocation lock, so two concurrent tries with the same
// key allocate once. Releasing a row frees it for anyone, so only rows still
// held by the sub-user replay.
func (s *Store) AllocateStaticIPsOnce(ctx context.Context, a subgate.StaticIPAllocation, key string) ([]*subgate.StaticIP, bool, error) {
	var out []*subgate.StaticIP
	var replay bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out, replay = nil, false
		if err := liveSubUserInScope(ctx, tx, a.Scope, a.SubUserID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, staticIPLockKey); err != nil {
			return err
		}
		if key != "" {
			prev, err := s.queryStaticIPs(ctx, tx, `SELECT `+staticIPColumns+` FROM static_ips
				WHERE subuser_id = $1 AND allocation_key = $2 ORDER BY id`, a.SubUserID, key)
			if err != nil {
				return err
			}
			if len(prev) > 0 {
				out, replay = prev, true
				return a.Replays(prev)
			}
		}
		ips, err := s.queryStaticIPs(ctx, tx, `UPDATE static_ips SET subuser_id = $1, allocated_at = $2, allocation_key = $6
			WHERE id IN (SELECT id FROM static_ips WHERE country = $3 AND ($4 = '' OR access_point = $4) AND `+staticIPFree+`
			             ORDER BY id LIMIT $5)
			RETURNING `+staticIPColumns, a.SubUserID, dbTime(a.Now), a.Country, a.AccessPoint, a.Count, key)
		if err != nil {
			return err
		}
		if len(ips) < a.Count {
			return a.Insufficient(len(ips)) // rolls the update back
		}
		slices.SortFunc(ips, func(a, b *subgate.StaticIP) int { return cmp.Compare(a.ID, b.ID) })
		out = ips
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, replay, nil
}
