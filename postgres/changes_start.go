package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// SubUsersSeq implements subgate.Store: the highest committed Seq, but no
// higher than the feed's bound (see changesBoundSQL), below which no change
// in flight can still commit; both read in one snapshot.
func (s *Store) SubUsersSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.inTxWith(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var bound *int64
		if err := tx.QueryRow(ctx, changesBoundSQL).Scan(&bound); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM subusers`).Scan(&seq); err != nil {
			return err
		}
		if bound != nil {
			seq = min(seq, *bound)
		}
		return nil
	})
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
