package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/subgate/subgate"
)

// FlushUsage implements subgate.Store.
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
		f := flush{s: s, tx: tx, b: b, owners: map[int64]owner{}}
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

// owner is what a flush needs to know about a sub-user row.
type owner struct {
	resellerID int64
	deleted    bool
	found      bool
	shared     bool
}

type flush struct {
	s      *Store
	tx     *wtx
	b      subgate.UsageBatch
	owners map[int64]owner
	dry    []int64 // resellers whose pool this batch emptied
}

func (f *flush) apply(ctx context.Context) error {
	for _, it := range f.b.Items {
		if err := f.item(ctx, it); err != nil {
			return err
		}
	}
	for _, r := range f.b.Release {
		if err := f.release(ctx, r); err != nil {
			return err
		}
	}
	for _, e := range f.b.Egress {
		if _, err := f.tx.ExecContext(ctx, `INSERT INTO egress (subuser_id, day_key, key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			e.SubUserID, f.b.Windows.DayKey(f.b.Now), e.Key); err != nil {
			return err
		}
	}
	if err := f.returnDeleted(ctx); err != nil {
		return err
	}
	slices.Sort(f.dry)
	for _, r := range slices.Compact(f.dry) {
		if err := wakeShared(ctx, f.tx, r); err != nil {
			return err
		}
	}
	return f.renew(ctx)
}

func (f *flush) owner(ctx context.Context, id int64) (owner, error) {
	if o, ok := f.owners[id]; ok {
		return o, nil
	}
	var o owner
	var deleted sql.NullInt64
	var funding string
	err := f.tx.QueryRowContext(ctx, `SELECT reseller_id, deleted_at, funding FROM subusers WHERE id = ?`, id).Scan(&o.resellerID, &deleted, &funding)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return o, err
	}
	o.found, o.deleted, o.shared = err == nil, deleted.Valid, subgate.Funding(funding) == subgate.FundingShared
	f.owners[id] = o
	return o, nil
}

// shrinkLease takes up to n bytes off the node's lease and reports how many.
func (f *flush) shrinkLease(ctx context.Context, id int64, p subgate.Product, n int64) error {
	_, err := f.tx.ExecContext(ctx, `UPDATE leases SET bytes = max(bytes - ?, 0) WHERE subuser_id = ? AND product = ? AND node = ?`,
		n, id, string(p), f.b.Node)
	return err
}

func (f *flush) item(ctx context.Context, it subgate.UsageItem) error {
	if it.Bytes <= 0 {
		return nil
	}
	o, err := f.owner(ctx, it.SubUserID)
	if err != nil || !o.found {
		return err // usage of an unknown sub-user has nowhere to go
	}
	if err := f.shrinkLease(ctx, it.SubUserID, it.Product, it.Bytes); err != nil {
		return err
	}
	if o.shared {
		return f.sharedItem(ctx, it, o)
	}
	var available int64
	err = f.tx.QueryRowContext(ctx, `SELECT available FROM balances WHERE subuser_id = ? AND product = ?`,
		it.SubUserID, string(it.Product)).Scan(&available)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	charged, over := subgate.Charge(available, it.Bytes)
	hour := subgate.HourOf(it.Hour)
	if charged > 0 {
		if _, err := f.tx.ExecContext(ctx, `UPDATE balances SET available = available - ?1, used = used + ?1
			WHERE subuser_id = ?2 AND product = ?3`, charged, it.SubUserID, string(it.Product)); err != nil {
			return err
		}
		if _, err := f.tx.ExecContext(ctx, `INSERT INTO usage_hourly (subuser_id, hour, product, reseller_id, bytes) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (subuser_id, hour, product) DO UPDATE SET bytes = bytes + excluded.bytes`,
			it.SubUserID, hour.Unix(), string(it.Product), o.resellerID, charged); err != nil {
			return err
		}
	}
	row := ledgerRow{resellerID: o.resellerID, subUserID: it.SubUserID, product: it.Product}
	row.kind, row.bytes = subgate.LedgerUsage, charged
	if err := addHourlyLedger(ctx, f.tx, row, unixNano(hour)); err != nil {
		return err
	}
	row.kind, row.bytes = subgate.LedgerOverdraft, over
	if err := addHourlyLedger(ctx, f.tx, row, unixNano(hour)); err != nil {
		return err
	}
	return f.countWindows(ctx, it, charged, -charged)
}

// sharedItem charges a shared sub-user's usage straight from its reseller's
// pool to its used bytes; usage past the pool is overdraft, not charged. A
// pool this empties wakes every shared sub-user of the reseller.
func (f *flush) sharedItem(ctx context.Context, it subgate.UsageItem, o owner) error {
	var pool int64
	err := f.tx.QueryRowContext(ctx, `SELECT bytes FROM pools WHERE reseller_id = ? AND product = ?`, o.resellerID, string(it.Product)).Scan(&pool)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	charged, over := subgate.Charge(pool, it.Bytes)
	hour := subgate.HourOf(it.Hour)
	if charged > 0 {
		if err := takeFromPool(ctx, f.tx, o.resellerID, it.Product, charged); err != nil {
			return err
		}
		if _, err := f.tx.ExecContext(ctx, `INSERT INTO balances (subuser_id, product, used) VALUES (?1, ?2, ?3)
			ON CONFLICT (subuser_id, product) DO UPDATE SET used = used + excluded.used`, it.SubUserID, string(it.Product), charged); err != nil {
			return err
		}
		if _, err := f.tx.ExecContext(ctx, `INSERT INTO usage_hourly (subuser_id, hour, product, reseller_id, bytes) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (subuser_id, hour, product) DO UPDATE SET bytes = bytes + excluded.bytes`,
			it.SubUserID, hour.Unix(), string(it.Product), o.resellerID, charged); err != nil {
			return err
		}
		if pool == charged {
			f.dry = append(f.dry, o.resellerID)
		}
	}
	row := ledgerRow{resellerID: o.resellerID, subUserID: it.SubUserID, product: it.Product}
	row.kind, row.bytes = subgate.LedgerPoolUsage, charged
	if err := addHourlyLedger(ctx, f.tx, row, unixNano(hour)); err != nil {
		return err
	}
	row.kind, row.bytes = subgate.LedgerOverdraft, over
	if err := addHourlyLedger(ctx, f.tx, row, unixNano(hour)); err != nil {
		return err
	}
	// The row's total available is untouched: the bytes came from the pool.
	return f.countWindows(ctx, it, charged, 0)
}

// countWindows adds usage to the day and month counters: a later window
// restarts the counter, an earlier one (a late flush) is left alone.
func (f *flush) countWindows(ctx context.Context, it subgate.UsageItem, charged, availableDelta int64) error {
	d, m := f.b.Windows.DayKey(it.Hour), f.b.Windows.MonthKey(it.Hour)
	_, err := f.tx.ExecContext(ctx, `UPDATE subusers SET
		day_used = CASE WHEN day_key = ?1 THEN day_used + ?3 WHEN day_key < ?1 THEN ?3 ELSE day_used END,
		day_key = max(day_key, ?1),
		month_used = CASE WHEN month_key = ?2 THEN month_used + ?3 WHEN month_key < ?2 THEN ?3 ELSE month_used END,
		month_key = max(month_key, ?2),
		total_used = total_used + ?4,
		total_available = total_available + ?6
		WHERE id = ?5`, d, m, it.Bytes, charged, it.SubUserID, availableDelta)
	return err
}

func (f *flush) release(ctx context.Context, r subgate.LeaseRelease) error {
	if r.Bytes <= 0 {
		return nil
	}
	if _, err := f.owner(ctx, r.SubUserID); err != nil {
		return err
	}
	return f.shrinkLease(ctx, r.SubUserID, r.Product, r.Bytes)
}

// returnDeleted gives the pool back whatever a deleted sub-user touched by
// this batch still holds beyond its live leases: released bytes, and bytes
// of leases that expired without being released.
func (f *flush) returnDeleted(ctx context.Context) error {
	for id, o := range f.owners {
		if !o.found || !o.deleted {
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
