package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// switchFunding lists the steps that move u to funding to: what
// FundingReturns lists goes back to the pool, and u's leases are re-pointed
// at the balance they now draw on. u's row must be locked.
func switchFunding(u *subgate.SubUser, to *subgate.Funding, at time.Time) []step {
	if to == nil || *to == u.Funding {
		return nil
	}
	back := subgate.FundingReturns(u, *to)
	var steps []step
	var returned int64
	for _, p := range sortedProducts(back) {
		steps = append(steps, returnToPool(u, p, back[p], at)...)
		returned += back[p]
	}
	if returned > 0 {
		steps = append(steps, step{sql: `UPDATE totals SET available = available - $2 WHERE subuser_id = $1`, args: []any{u.ID, returned}})
	}
	next := *u
	next.Funding = *to
	return append(steps,
		step{sql: `UPDATE subusers SET funding = $2 WHERE id = $1`, args: []any{u.ID, string(*to)}},
		step{sql: `UPDATE leases SET pool_reseller_id = $2 WHERE subuser_id = $1`, args: []any{u.ID, subgate.PoolOf(&next)}})
}

// lockPoolForLease locks a reseller's pool of p and reads it with the sum of
// the live leases every shared sub-user holds on it, in one round trip: the
// lock serialises grants on one pool across sub-users and nodes.
func lockPoolForLease(ctx context.Context, tx pgx.Tx, resellerID int64, p subgate.Product, now time.Time) (pool, leased int64, err error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT bytes FROM pools WHERE reseller_id = $1 AND product = $2 FOR UPDATE`, resellerID, string(p))
	b.Queue(`SELECT coalesce(sum(bytes), 0)::bigint FROM leases WHERE pool_reseller_id = $1 AND product = $2 AND expires_at > $3`,
		resellerID, string(p), now)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if err := br.QueryRow().Scan(&pool); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, err
	}
	if err := br.QueryRow().Scan(&leased); err != nil {
		return 0, 0, err
	}
	return pool, leased, br.Close()
}

// lockShared locks the live shared sub-users of resellers, in id order
// across all of them like every multi-row lock, before a pool change that
// wakes them (wakeShared).
func lockShared(resellerIDs ...int64) step {
	return step{sql: `SELECT count(*) FROM (SELECT id FROM subusers WHERE reseller_id = ANY($1) AND funding = 'shared'
		AND deleted_at IS NULL ORDER BY id FOR UPDATE) AS l`, args: []any{resellerIDs}, scan: []any{new(int64)}}
}

// wakeShared gives every live shared sub-user of a reseller a new Seq after
// its pool changed, so each gateway node re-checks them at once: a dry pool
// cuts their tunnels, a credited one lets them in again. One change stripe
// (the reseller's) is held before any Seq is drawn, even when the sub-users
// are still to be found, so one shared a moment ago is covered: like a bulk
// update's, one is enough for readers of the feed to hold back every Seq
// drawn here (see seqSteps), and holding the stripes of every woken
// sub-user would make every other change wait for a large reseller's pool
// change. *seq receives the highest Seq drawn (0 when none), for the caller
// to announce after commit. Nothing may be locked after these steps.
func wakeShared(resellerID int64, seq *int64) []step {
	return []step{lockStripe(resellerID), drawWakeSeqs(resellerID, seq)}
}

// drawWakeSeqs gives the live shared sub-users of a reseller a new Seq each;
// a change stripe must be held already (wakeShared). The rows were locked
// before the pool or the stripe (lockShared), in the lock order; one that
// became shared since would be locked only now, after them, so one another
// transaction holds is skipped rather than waited for (SKIP LOCKED): that
// transaction holds it to change it, and may be waiting for what this one
// holds.
func drawWakeSeqs(resellerID int64, seq *int64) step {
	return step{sql: `WITH woken AS (UPDATE subusers SET seq = nextval('subuser_seq')
			WHERE id IN (SELECT id FROM subusers WHERE reseller_id = $1 AND funding = 'shared' AND deleted_at IS NULL
				ORDER BY id FOR UPDATE SKIP LOCKED) RETURNING seq)
		SELECT coalesce(max(seq), 0) FROM woken`, args: []any{resellerID}, scan: []any{seq}}
}
