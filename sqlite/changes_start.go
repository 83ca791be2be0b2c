package sqlite

import (
	"context"

	"github.com/subgate/subgate"
)

// SubUsersSeq implements subgate.Store. Writes are serialised, so the
// highest Seq stored has committed along with every one below it.
func (s *Store) SubUsersSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.read.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM subusers`).Scan(&seq)
	return seq, err
}

// SubUsersAllowingIPs implements subgate.Store, from the partial index of
// allow-listed live rows.
func (s *Store) SubUsersAllowingIPs(ctx context.Context, afterID int64, limit int) ([]*subgate.SubUser, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	return s.querySubUsers(ctx, s.read, `SELECT `+subUserColumns+` FROM subusers s INDEXED BY subusers_allow_ips
		WHERE s.allow_ips <> '' AND s.deleted_at IS NULL AND s.id > ? ORDER BY s.id LIMIT ?`, afterID, limit)
}
