package postgres

import (
	"context"

	"github.com/subgate/subgate"
)

// SubUsersSeq implements subgate.Store: the highest committed Seq, but no
// higher than the feed's bound (see changesBoundSQL), below which no change
// in flight can still commit; both read in one snapshot, in one round trip.
func (s *Store) SubUsersSeq(ctx context.Context) (int64, error) {
	var seq int64
	var bound *int64
	err := s.readInOneTrip(ctx, step{sql: changesBoundSQL, scan: []any{&bound}},
		step{sql: `SELECT coalesce(max(seq), 0) FROM subusers`, scan: []any{&seq}})
	if bound != nil {
		seq = min(seq, *bound)
	}
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
