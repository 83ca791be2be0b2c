package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// AcquireLease grows the node's lease on a balance by what the balance and
// every byte limit leave once all live leases are counted.
func (s *Store) AcquireLease(ctx context.Context, r subgate.LeaseRequest) (int64, error) {
	now := dbTime(r.Now)
	var grant int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		grant = 0
		u, leased, err := s.lockForLease(ctx, tx, r.SubUserID, now)
		if err != nil {
			return err
		}
		if u.DeletedAt != nil {
			// What the dropped leases held can go back to the pool now.
			return runSteps(ctx, tx, returnUnleased(u, leased, now)...)
		}
		var total int64
		for _, b := range leased {
			total += b
		}
		w := u.Usage.At(r.Windows, r.Now)
		onSource := leased[r.Product]
		if u.Shared() && r.Want > 0 {
			pool, poolLeased, err := lockPoolForLease(ctx, tx, u.ResellerID, r.Product, now)
			if err != nil {
				return err
			}
			u.Pool[r.Product], onSource = pool, poolLeased
		}
		grant = subgate.LeaseGrant(u, r.Product, w, onSource, total, r.Want, r.Now)
		if grant <= 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO leases (subuser_id, product, node, bytes, expires_at, pool_reseller_id) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (subuser_id, product, node) DO UPDATE SET bytes = leases.bytes + excluded.bytes, expires_at = excluded.expires_at,
				pool_reseller_id = excluded.pool_reseller_id`,
			u.ID, string(r.Product), r.Node, grant, dbTime(r.Now.Add(r.TTL)), subgate.PoolOf(u))
		return err
	})
	if err != nil {
		return 0, err
	}
	return grant, nil
}

// lockForLease locks a sub-user row (deleted ones too), drops its expired
// leases and reads the row and its live leases per balance, in one round
// trip; each statement after the lock sees what committed before it.
func (s *Store) lockForLease(ctx context.Context, tx pgx.Tx, id int64, now time.Time) (*subgate.SubUser, map[subgate.Product]int64, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT id FROM subusers WHERE id = $1 FOR UPDATE`, id)
	b.Queue(`DELETE FROM leases WHERE subuser_id = $1 AND expires_at <= $2`, id, now)
	b.Queue(selectSubUsers+` WHERE s.id = $1`, id)
	b.Queue(liveLeasesSQL, id, now)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	var locked int64
	if err := br.QueryRow().Scan(&locked); errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, subgate.NotFound("sub-user")
	} else if err != nil {
		return nil, nil, err
	}
	if _, err := br.Exec(); err != nil {
		return nil, nil, err
	}
	us, err := s.loadSubUsers(ctx, batchQuerier{br}, "")
	if err != nil {
		return nil, nil, err
	}
	if len(us) != 1 {
		return nil, nil, fmt.Errorf("sub-user %d: locked but read %d rows", id, len(us))
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	leased, err := scanLeaseSums(rows)
	if err != nil {
		return nil, nil, err
	}
	return us[0], leased, br.Close()
}

// queueHourlyUsage adds usage rows (reseller, sub-user, product, hour,
// bytes) to their hourly buckets.
func queueHourlyUsage(q *pgx.Batch, rows columns) {
	q.Queue(`INSERT INTO usage_hourly (subuser_id, hour, product, reseller_id, bytes)
		SELECT id, hour, product, reseller, bytes FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::bigint[])
			AS v(reseller, id, product, hour, bytes)
		ON CONFLICT (subuser_id, hour, product) DO UPDATE SET bytes = usage_hourly.bytes + excluded.bytes`, rows.cols...)
}

// queueHourlyLedger grows the hourly ledger entries of kind (usage,
// overdraft, pool_usage: one per sub-user, product and hour) by rows.
func queueHourlyLedger(q *pgx.Batch, kind subgate.LedgerKind, rows columns) {
	q.Queue(`INSERT INTO ledger (reseller_id, subuser_id, product, kind, bytes, created_at)
		SELECT reseller, id, product, '`+string(kind)+`', bytes, hour FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::bigint[])
			AS v(reseller, id, product, hour, bytes)
		ON CONFLICT (subuser_id, product, created_at) WHERE kind = '`+string(kind)+`' DO UPDATE SET bytes = ledger.bytes + excluded.bytes`, rows.cols...)
}

// egressColumns lists the batch's distinct egress keys in (sub-user, key)
// order: sub-users with egress only are not locked, so concurrent flushes
// must insert shared keys in one order.
func egressColumns(b subgate.UsageBatch) columns {
	es := slices.Clone(b.Egress)
	slices.SortFunc(es, func(x, y subgate.EgressUse) int {
		return cmp.Or(cmp.Compare(x.SubUserID, y.SubUserID), cmp.Compare(x.Key, y.Key))
	})
	es = slices.Compact(es)
	var c columns
	for _, e := range es {
		c.add(e.SubUserID, e.Key)
	}
	return c
}

// columns gathers rows column by column, to be sent as arrays and unnested.
type columns struct {
	cols []any // one typed slice per column
	n    int
}

func (c *columns) add(values ...any) {
	if c.cols == nil {
		for _, v := range values {
			switch v.(type) {
			case int64:
				c.cols = append(c.cols, []int64{})
			case string:
				c.cols = append(c.cols, []string{})
			case time.Time:
				c.cols = append(c.cols, []time.Time{})
			}
		}
	}
	for i, v := range values {
		switch col := c.cols[i].(type) {
		case []int64:
			c.cols[i] = append(col, v.(int64))
		case []string:
			c.cols[i] = append(col, v.(string))
		case []time.Time:
			c.cols[i] = append(col, v.(time.Time))
		}
	}
	c.n++
}
