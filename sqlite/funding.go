package sqlite

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// switchFunding moves u to funding to, in the caller's transaction: what
// FundingReturns lists goes back to the pool, and u's leases are re-pointed
// at the balance they now draw on.
func (s *Store) switchFunding(ctx context.Context, tx *wtx, u *subgate.SubUser, to *subgate.Funding) error {
	if to == nil || *to == u.Funding {
		return nil
	}
	back := subgate.FundingReturns(u, *to)
	ps := make([]subgate.Product, 0, len(back))
	for p := range back {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	for _, p := range ps {
		if err := s.returnToPool(ctx, tx, u.ResellerID, u.ID, p, back[p]); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subusers SET funding = ? WHERE id = ?`, string(*to), u.ID); err != nil {
		return err
	}
	next := *u
	next.Funding = *to
	_, err := tx.ExecContext(ctx, `UPDATE leases SET pool_reseller_id = ? WHERE subuser_id = ?`, subgate.PoolOf(&next), u.ID)
	return err
}

// fillPools gives the shared sub-users of list their reseller's pools.
func fillPools(ctx context.Context, q querier, list []*subgate.SubUser) error {
	byReseller := map[int64][]*subgate.SubUser{}
	for _, u := range list {
		if u.Shared() {
			byReseller[u.ResellerID] = append(byReseller[u.ResellerID], u)
		}
	}
	if len(byReseller) == 0 {
		return nil
	}
	ids := make([]string, 0, len(byReseller))
	for id, us := range byReseller {
		ids = append(ids, strconv.FormatInt(id, 10))
		for _, u := range us {
			u.Pool = map[subgate.Product]int64{}
		}
	}
	rows, err := raw(q).QueryContext(ctx, `SELECT reseller_id, product, bytes FROM pools WHERE reseller_id IN (`+strings.Join(ids, ",")+`)`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, b int64
		var p string
		if err := rows.Scan(&id, &p, &b); err != nil {
			return err
		}
		for _, u := range byReseller[id] {
			u.Pool[subgate.Product(p)] = b
		}
	}
	return rows.Err()
}

// poolLeased sums the live leases every shared sub-user of a reseller holds
// on its pool of p.
func poolLeased(ctx context.Context, q querier, resellerID int64, p subgate.Product, now time.Time) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT coalesce(sum(bytes), 0) FROM leases WHERE pool_reseller_id = ? AND product = ? AND expires_at > ?`,
		resellerID, string(p), unixNano(now)).Scan(&n)
	return n, err
}

// spendPool takes b bytes out of a pool for a give or a debit: what stays
// must still cover the live leases shared sub-users hold on it, whose bytes
// may already be on the wire.
func (s *Store) spendPool(ctx context.Context, tx *wtx, resellerID int64, p subgate.Product, b int64) error {
	leased, err := poolLeased(ctx, tx, resellerID, p, s.now())
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE pools SET bytes = bytes - ?1 WHERE reseller_id = ?2 AND product = ?3 AND bytes >= ?1 + ?4`,
		b, resellerID, string(p), leased)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	return subgate.PoolShort(p)
}

// wakeShared gives every live shared sub-user of a reseller a new Seq after
// its pool changed, so each gateway node re-checks them at once: a dry pool
// cuts their tunnels, a credited one lets them in again.
func wakeShared(ctx context.Context, tx *wtx, resellerID int64) error {
	seq, err := nextSeq(ctx, tx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE subusers SET seq = ?1 + t.rn
		FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM subusers
			WHERE reseller_id = ?2 AND funding = 'shared' AND deleted_at IS NULL) AS t
		WHERE subusers.id = t.id`, seq-1, resellerID)
	return err
}
