package postgres

import (
	"context"

	"github.com/subgate/subgate"
)

// SubUsersSeq implements subgate.Store. Seqs are drawn under the change
// lock held to commit, so every change below the highest committed Seq has
// committed too, and one in flight draws above it.
func (s *Store) SubUsersSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM subusers`).Scan(&seq)
	return seq, dbError(err)
}

// SubUsersAllowingIPs implements subgate.Store, from the partial index of
// allow-listed live rows.
func (s *Store) SubUsersAllowingIPs(ctx context.Context, afterID int64, limit int) ([]*subgate.SubUser, error) {
	if limit <= 0 {
		limit = defaultChangesLimit
	}
	us, err := s.loadSubUsers(ctx, s.pool, selectSubUsers+` WHERE s.allow_ips <> '{}' AND s.deleted_at IS NULL AND s.id > $1
		ORDER BY s.id LIMIT $2`, afterID, limit)
	return us, dbError(err)
}
