package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/settle"
)

// FlushUsage implements subgate.Store: the rows are read, the settlement
// rules (package settle) change them in memory, and the changes are
// written, in one write transaction.
func (s *Store) FlushUsage(ctx context.Context, b subgate.UsageBatch) error {
	err := s.update(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO usage_batches (id, applied_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
			b.ID, unixNano(b.Now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // already applied
		}
		f := flush{s: s, tx: tx, b: b}
		return f.apply(ctx)
	})
	if err == nil {
		s.maybeHousekeep(ctx, b)
	}
	return err
}

// batchRetention is how long applied batch IDs are remembered; nodes retry a
// failed flush within seconds.
const batchRetention = 7 * 24 * time.Hour

type flush struct {
	s  *Store
	tx *wtx
	b  subgate.UsageBatch
}

func (f *flush) apply(ctx context.Context) error {
	bk, err := f.load(ctx)
	if err != nil {
		return err
	}
	bk.Apply(f.b)
	if err := f.write(ctx, bk); err != nil {
		return err
	}
	for _, e := range f.b.Egress {
		if _, err := f.tx.ExecContext(ctx, `INSERT INTO egress (subuser_id, day_key, key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			e.SubUserID, f.b.Windows.DayKey(f.b.Now), e.Key); err != nil {
			return err
		}
	}
	if err := f.returnDeleted(ctx, bk); err != nil {
		return err
	}
	for _, r := range bk.Dry() {
		if err := wakeShared(ctx, f.tx, r); err != nil {
			return err
		}
	}
	return f.renew(ctx)
}

// load reads the batch's sub-user rows, their balances, the node's leases
// on them and the pools their shared usage charges.
func (f *flush) load(ctx context.Context) (*settle.Books, error) {
	bk := settle.NewBooks()
	ids := settle.SubUserIDs(f.b)
	if len(ids) == 0 {
		return bk, nil
	}
	in := make([]string, len(ids))
	for i, id := range ids {
		in[i] = strconv.FormatInt(id, 10)
	}
	list := "(" + strings.Join(in, ",") + ")"
	q := raw(f.tx)
	err := scanRows(ctx, q, `SELECT id, reseller_id, deleted_at IS NOT NULL, funding = 'shared', day_key, day_used, month_key, month_used
		FROM subusers WHERE id IN `+list, nil, func(rows *sql.Rows) error {
		var id int64
		r := &settle.Row{}
		err := rows.Scan(&id, &r.ResellerID, &r.Deleted, &r.Shared, &r.DayKey, &r.Day, &r.MonthKey, &r.Month)
		bk.Rows[id] = r
		return err
	})
	if err != nil {
		return nil, err
	}
	err = scanRows(ctx, q, `SELECT subuser_id, product, available, used FROM balances WHERE subuser_id IN `+list, nil, func(rows *sql.Rows) error {
		var k settle.BalanceKey
		t := &subgate.Traffic{}
		err := rows.Scan(&k.SubUserID, &k.Product, &t.Available, &t.Used)
		bk.Balances[k] = t
		return err
	})
	if err != nil {
		return nil, err
	}
	err = scanRows(ctx, q, `SELECT subuser_id, product, bytes FROM leases WHERE node = ? AND subuser_id IN `+list, []any{f.b.Node}, func(rows *sql.Rows) error {
		var k settle.BalanceKey
		var n int64
		err := rows.Scan(&k.SubUserID, &k.Product, &n)
		bk.Leases[k] = n
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, k := range bk.PoolsNeeded(f.b) {
		var n int64
		err := f.tx.QueryRowContext(ctx, `SELECT bytes FROM pools WHERE reseller_id = ? AND product = ?`, k.ResellerID, string(k.Product)).Scan(&n)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		bk.Pools[k] = n
	}
	return bk, nil
}

// scanRows calls fn for each row of a query.
func scanRows(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// write stores what the batch changed.
func (f *flush) write(ctx context.Context, bk *settle.Books) error {
	tx := f.tx
	for k := range bk.DirtyBalances {
		t := bk.Balances[k]
		if _, err := tx.ExecContext(ctx, `UPDATE balances SET available = ?, used = ? WHERE subuser_id = ? AND product = ?`,
			t.Available, t.Used, k.SubUserID, string(k.Product)); err != nil {
			return err
		}
	}
	for k, n := range bk.SharedUsed {
		if _, err := tx.ExecContext(ctx, `INSERT INTO balances (subuser_id, product, used) VALUES (?1, ?2, ?3)
			ON CONFLICT (subuser_id, product) DO UPDATE SET used = used + excluded.used`, k.SubUserID, string(k.Product), n); err != nil {
			return err
		}
	}
	for k, n := range bk.PoolCharged {
		if err := takeFromPool(ctx, tx, k.ResellerID, k.Product, n); err != nil {
			return err
		}
	}
	for id, r := range bk.Rows {
		if _, err := tx.ExecContext(ctx, `UPDATE subusers SET day_key = ?, day_used = ?, month_key = ?, month_used = ?,
			total_available = total_available + ?, total_used = total_used + ? WHERE id = ?`,
			r.DayKey, r.Day, r.MonthKey, r.Month, r.AvailableDelta, r.UsedDelta, id); err != nil {
			return err
		}
	}
	for k := range bk.DirtyLeases {
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET bytes = ? WHERE subuser_id = ? AND product = ? AND node = ?`,
			bk.Leases[k], k.SubUserID, string(k.Product), f.b.Node); err != nil {
			return err
		}
	}
	for kind, m := range map[subgate.LedgerKind]map[settle.HourKey]int64{
		subgate.LedgerUsage: bk.Usage, subgate.LedgerPoolUsage: bk.PoolUsage, subgate.LedgerOverdraft: bk.Overdraft,
	} {
		for k, n := range m {
			row := ledgerRow{resellerID: bk.Rows[k.SubUserID].ResellerID, subUserID: k.SubUserID, product: k.Product, kind: kind, bytes: n}
			if err := addHourlyLedger(ctx, tx, row, unixNano(k.Hour)); err != nil {
				return err
			}
			if kind == subgate.LedgerOverdraft {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO usage_hourly (subuser_id, hour, product, reseller_id, bytes) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (subuser_id, hour, product) DO UPDATE SET bytes = bytes + excluded.bytes`,
				k.SubUserID, k.Hour.Unix(), string(k.Product), row.resellerID, n); err != nil {
				return err
			}
		}
	}
	for _, e := range bk.Returns {
		if err := f.s.addLedger(ctx, tx, ledgerRow{resellerID: e.ResellerID, subUserID: e.SubUserID, product: e.Product,
			kind: e.Kind, bytes: e.Bytes}); err != nil {
			return err
		}
	}
	keys, sums := bk.ReturnedToPools()
	for _, k := range keys {
		if err := addToPool(ctx, tx, k.ResellerID, k.Product, sums[k]); err != nil {
			return err
		}
	}
	return nil
}

// returnDeleted gives the pool back whatever a deleted sub-user touched by
// this batch still holds beyond its live leases: bytes of leases that
// expired without being released.
func (f *flush) returnDeleted(ctx context.Context, bk *settle.Books) error {
	for id, r := range bk.Rows {
		if !r.Deleted {
			continue
		}
		u, err := f.s.loadSubUser(ctx, f.tx, id)
		if err != nil {
			return err
		}
		if err := f.s.returnUnleased(ctx, f.tx, u, f.b.Now); err != nil {
			return err
		}
	}
	return nil
}

// renew extends the node's live leases, drops its empty ones and forgets
// batch IDs too old to be retried.
func (f *flush) renew(ctx context.Context) error {
	now := unixNano(f.b.Now)
	if _, err := f.tx.ExecContext(ctx, `DELETE FROM leases WHERE node = ? AND bytes = 0`, f.b.Node); err != nil {
		return err
	}
	if f.b.LeaseTTL > 0 {
		if _, err := f.tx.ExecContext(ctx, `UPDATE leases SET expires_at = ? WHERE node = ? AND expires_at > ?`,
			unixNano(f.b.Now.Add(f.b.LeaseTTL)), f.b.Node, now); err != nil {
			return err
		}
	}
	_, err := f.tx.ExecContext(ctx, `DELETE FROM usage_batches WHERE applied_at < ?`, unixNano(f.b.Now.Add(-batchRetention)))
	return err
}
