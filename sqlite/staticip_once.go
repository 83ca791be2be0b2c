package sqlite

import (
	"context"
	"database/sql"

	"github.com/subgate/subgate"
)

// AllocateStaticIPsOnce implements subgate.StaticIPOnceStore. The key is
// kept on the allocated rows; releasing a row frees it for anyone, so only
// rows still held by the sub-user replay.
func (s *Store) AllocateStaticIPsOnce(ctx context.Context, a subgate.StaticIPAllocation, key string) ([]*subgate.StaticIP, bool, error) {
	var out []*subgate.StaticIP
	var replay bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out, replay = nil, false
		if err := liveSubUserInScope(ctx, tx, a.Scope, a.SubUserID); err != nil {
			return err
		}
		if key != "" {
			prev, err := s.queryStaticIPs(ctx, tx, `SELECT `+staticIPColumns+` FROM static_ips
				WHERE subuser_id = ? AND allocation_key = ? ORDER BY id`, a.SubUserID, key)
			if err != nil {
				return err
			}
			if len(prev) > 0 {
				out, replay = prev, true
				return a.Replays(prev)
			}
		}
		ips, err := s.queryStaticIPs(ctx, tx, `SELECT `+staticIPColumns+` FROM static_ips
			WHERE country = ? AND (? = '' OR access_point = ?) AND `+staticIPFree+` ORDER BY id LIMIT ?`,
			a.Country, a.AccessPoint, a.AccessPoint, a.Count)
		if err != nil {
			return err
		}
		if len(ips) < a.Count {
			return a.Insufficient(len(ips))
		}
		at := fromNano(unixNano(a.Now.UTC()))
		for _, ip := range ips {
			if _, err := tx.ExecContext(ctx, `UPDATE static_ips SET subuser_id = ?, allocated_at = ?, allocation_key = ? WHERE id = ?`,
				a.SubUserID, unixNano(at), key, ip.ID); err != nil {
				return err
			}
			ip.SubUserID, ip.AllocatedAt = a.SubUserID, &at
		}
		out = ips
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, replay, nil
}
