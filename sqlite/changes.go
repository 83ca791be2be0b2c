package sqlite

import (
	"context"

	"github.com/subgate/subgate"
)

// SubUsersChanged implements subgate.Store.
func (s *Store) SubUsersChanged(ctx context.Context, after int64, limit int) ([]*subgate.SubUser, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	return s.querySubUsers(ctx, s.read, `SELECT `+subUserColumns+` FROM subusers s WHERE s.seq > ? ORDER BY s.seq LIMIT ?`, after, limit)
}
