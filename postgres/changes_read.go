package postgres

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// defaultChangesLimit bounds a SubUsersChanged call without a limit.
const defaultChangesLimit = 1000

// heldBackWait bounds how long SubUsersChanged waits for changes committed
// behind a change still in flight (see changesBound); such a wait lasts as
// long as the earlier change's transaction, usually a few milliseconds.
const heldBackWait = 500 * time.Millisecond

// changesBoundSQL is the highest Seq a reader may read up to: the lowest
// value recorded on a change stripe locked by a transaction in flight in the
// reader's snapshot, or NULL when no change is in flight. Every change in
// flight draws its Seq above the value on its stripe (see seqSteps); a
// change that starts after the snapshot draws above every Seq the snapshot
// sees.
//
// A stripe is locked by a transaction in flight when its xmax is a running
// xid of the snapshot: one of its listed ones, or one at or above its xmax.
// The list holds only xids below the snapshot's xmax (one past the highest
// xid completed), so a change whose transaction got its xid after the last
// one to complete is not listed, yet may hold a Seq below one already
// committed. xmax is a 32-bit xid: "at or above" is compared modulo 2^32.
const changesBoundSQL = `SELECT min(c.seq) FROM change_stripes c,
		(SELECT pg_current_snapshot() AS s) AS snap,
		LATERAL (SELECT c.xmax::text::bigint AS x,
			pg_snapshot_xmax(snap.s)::text::bigint % 4294967296 AS top) AS l
	WHERE l.x <> 0 AND (
		(l.x - l.top + 4294967296) % 4294967296 < 2147483648
		OR l.x IN (SELECT x::text::bigint % 4294967296 FROM pg_snapshot_xip(snap.s) x))`

// SubUsersChanged returns sub-users, deleted ones too, whose Seq is above
// after, in Seq order, at most limit. It returns no change while a change
// with a lower Seq may still commit, so the caller may go on after the
// highest Seq it got. A change committed just now but held back behind one
// in flight is waited for (up to heldBackWait), so a reader that polls on a
// change's announcement finds it.
func (s *Store) SubUsersChanged(ctx context.Context, after int64, limit int) ([]*subgate.SubUser, error) {
	if limit <= 0 {
		limit = defaultChangesLimit
	}
	deadline := time.Now().Add(heldBackWait)
	var waitFor int64 // the highest Seq held back at the first read
	for pause := time.Millisecond; ; pause = min(2*pause, 20*time.Millisecond) {
		us, bound, err := s.changesOnce(ctx, after, limit)
		if err != nil {
			return nil, dbError(err)
		}
		safe := us
		for i, u := range us {
			if u.Seq > bound {
				safe = us[:i]
				break
			}
		}
		if waitFor == 0 && len(safe) < len(us) {
			waitFor = us[len(us)-1].Seq
		}
		if len(safe) == len(us) || bound >= waitFor || len(safe) == limit || time.Now().After(deadline) {
			return safe, nil
		}
		select {
		case <-ctx.Done():
			return safe, nil
		case <-time.After(pause):
		}
	}
}

// changesOnce reads the bound and the changes after after in one snapshot,
// in one round trip; bound is math.MaxInt64 when no change is in flight.
func (s *Store) changesOnce(ctx context.Context, after int64, limit int) (us []*subgate.SubUser, bound int64, err error) {
	var b *int64
	err = s.readInOneTrip(ctx, step{sql: changesBoundSQL, scan: []any{&b}},
		step{sql: selectSubUsers + ` WHERE s.seq > $1 ORDER BY s.seq LIMIT $2`, args: []any{after, limit},
			rows: func(rows pgx.Rows) (err error) {
				us, err = s.readSubUsers(rows)
				return err
			}})
	bound = math.MaxInt64
	if b != nil {
		bound = *b
	}
	return us, bound, err
}
