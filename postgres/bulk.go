package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// UpdateSubUsers applies one update to many sub-users in one transaction of
// three round trips, whatever their number: BEGIN with the lock of the named
// rows by ascending id; then the lock of one change stripe and one UPDATE
// that sets the fields and draws each row a Seq of its own; then COMMIT.
//
// One stripe is enough: readers of the change feed hold back every Seq above
// the value on a stripe a transaction in flight holds (see seqSteps and
// changesBoundSQL), and every Seq of this transaction is drawn after it
// locked its stripe. Holding the stripes of every row instead would, for a
// bulk of a few hundred sub-users, hold all of them: every other change of
// the installation would wait for the bulk to commit, and concurrent bulks
// would run one at a time. The stripe is the lowest id's, locked last like a
// single change's (rows, then one stripe), so no lock order is new.
func (s *Store) UpdateSubUsers(ctx context.Context, scope subgate.Scope, b subgate.SubUserBulkUpdate,
	check func(*subgate.SubUser) error, at time.Time) ([]*subgate.SubUser, error) {
	if len(b.Refs) == 0 {
		return nil, nil
	}
	sets, args, err := s.updateSets(b.Update)
	if err != nil {
		return nil, err
	}
	sets, args = limitsPatchSets(b.Limits, sets, args)
	var out []*subgate.SubUser
	for range maxTxAttempts {
		out, err = s.bulkUpdateOnce(ctx, scope, b.Refs, sets, args, check, at)
		if !retryable(err) {
			break
		}
	}
	if err != nil {
		return nil, dbError(err)
	}
	var highest int64
	for _, u := range out {
		highest = max(highest, u.Seq)
	}
	s.announcer.announce(highest)
	return out, nil
}

func (s *Store) bulkUpdateOnce(ctx context.Context, scope subgate.Scope, refs []string, sets []string, args []any,
	check func(*subgate.SubUser) error, at time.Time) ([]*subgate.SubUser, error) {
	ids, hashes := splitRefs(refs)
	var locked []*subgate.SubUser
	lock := step{sql: `SELECT id, hash, reseller_id, status FROM subusers
		WHERE (id = ANY($1) OR hash = ANY($2)) AND deleted_at IS NULL AND ($3 = 0 OR reseller_id = $3)
		ORDER BY id FOR UPDATE`,
		args: []any{ids, hashes, int64(scope)}, rows: func(rows pgx.Rows) error {
			defer rows.Close()
			for rows.Next() {
				u := &subgate.SubUser{}
				var status string
				if err := rows.Scan(&u.ID, &u.Hash, &u.ResellerID, &status); err != nil {
					return err
				}
				u.Status = subgate.Status(status)
				locked = append(locked, u)
			}
			return rows.Err()
		}}
	batch := &pgx.Batch{}
	batch.BeginTx(pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	queueSteps(batch, []step{lock})
	br := s.pool.SendBatch(ctx, batch)
	tx := br.Tx()
	// Once committed, rolling back does nothing.
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	_, err := br.Exec()
	if err == nil {
		err = readSteps(br, []step{lock})
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := checkLocked(refs, locked, check); err != nil {
		return nil, err
	}
	lockedIDs := make([]int64, len(locked))
	for i, u := range locked {
		lockedIDs[i] = u.ID
	}
	var out []*subgate.SubUser
	args = append(slices.Clip(args), dbTime(at), lockedIDs)
	n := len(args)
	sets = append(slices.Clip(sets), fmt.Sprintf("updated_at = $%d", n-1), `seq = nextval('subuser_seq')`)
	err = runSteps(ctx, tx, lockStripe(lockedIDs[0]),
		step{sql: `WITH s AS (UPDATE subusers SET ` + strings.Join(sets, ", ") + fmt.Sprintf(` WHERE id = ANY($%d)`, n) +
			` RETURNING *) ` + selectSubUsersFrom("s") + ` ORDER BY s.id`,
			args: args, rows: func(rows pgx.Rows) (err error) {
				out, err = s.readSubUsers(rows)
				return err
			}})
	if err != nil {
		return nil, err
	}
	if len(out) != len(locked) {
		return nil, fmt.Errorf("bulk update: locked %d sub-users but updated %d", len(locked), len(out))
	}
	return out, tx.Commit(ctx)
}

// splitRefs sorts refs into numeric ids and hashes.
func splitRefs(refs []string) (ids []int64, hashes []string) {
	ids, hashes = []int64{}, []string{}
	for _, ref := range refs {
		if id, ok := subgate.IsNumericRef(ref); ok {
			ids = append(ids, id)
		} else {
			hashes = append(hashes, ref)
		}
	}
	return ids, hashes
}

// checkLocked makes sure every ref named a locked sub-user and lets check
// judge each one.
func checkLocked(refs []string, locked []*subgate.SubUser, check func(*subgate.SubUser) error) error {
	found := make(map[string]bool, 2*len(locked))
	for _, u := range locked {
		found[strconv.FormatInt(u.ID, 10)], found[u.Hash] = true, true
	}
	for _, ref := range refs {
		if !found[ref] {
			if id, ok := subgate.IsNumericRef(ref); !ok || !found[strconv.FormatInt(id, 10)] {
				return subgate.BulkNotFound(ref)
			}
		}
	}
	for _, u := range locked {
		if err := check(u); err != nil {
			return err
		}
	}
	return nil
}

// limitsPatchSets adds SET clauses for the limits a patch gives.
func limitsPatchSets(p *subgate.LimitsPatch, sets []string, args []any) ([]string, []any) {
	if p == nil {
		return sets, args
	}
	for _, f := range []struct {
		col string
		v   *int64
	}{
		{"limit_daily", p.Daily}, {"limit_monthly", p.Monthly}, {"limit_lifetime", p.Lifetime},
		{"limit_usage_cap", p.UsageCap}, {"limit_ip_usage_cap", p.IPUsageCap},
		{"limit_max_concurrency", p.MaxConcurrency},
	} {
		if f.v != nil {
			args = append(args, *f.v)
			sets = append(sets, fmt.Sprintf("%s = $%d", f.col, len(args)))
		}
	}
	return sets, args
}
