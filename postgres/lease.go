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

// balanceKey names one balance of one sub-user.
type balanceKey struct {
	id int64
	p  subgate.Product
}

// hourKey names one hourly usage bucket.
type hourKey struct {
	balanceKey
	hour time.Time
}

// flushRow is a locked sub-user row as a flush changes it.
type flushRow struct {
	resellerID               int64
	deleted                  bool
	shared                   bool
	dayKey, day              int64
	monthKey, month          int64
	deltaAvailable, deltaUse int64
}

// flushState is everything one batch reads, changes in memory and writes
// back in one round trip.
type flushState struct {
	rows     map[int64]*flushRow
	balances map[balanceKey]*subgate.Traffic
	leases   map[balanceKey]int64
	dirtyBal map[balanceKey]bool
	dirtyLs  map[balanceKey]bool
	charged  map[hourKey]int64
	over     map[hourKey]int64 // overdraft per sub-user, product and hour
	returns  map[balanceKey]int64
	ledger   []subgate.LedgerEntry // returns
	shared   sharedFlush
}

// FlushUsage applies a batch once per batch ID, in one transaction.
func (s *Store) FlushUsage(ctx context.Context, b subgate.UsageBatch) error {
	now := dbTime(b.Now)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		st, err := loadFlushState(ctx, tx, b, now)
		if err != nil || st == nil {
			return err
		}
		if err := st.lockPools(ctx, tx, b); err != nil {
			return err
		}
		for _, it := range b.Items {
			st.applyItem(it, b.Windows, now)
		}
		for _, rel := range b.Release {
			st.applyRelease(rel, now)
		}
		return st.write(ctx, tx, b, now)
	})
	if err == nil {
		s.maybeHousekeep(ctx, b)
	}
	return err
}

// loadFlushState claims the batch ID, locks the batch's sub-users in id
// order and reads their balances and this node's leases, in one round trip.
// It returns nil when the batch was applied before.
func loadFlushState(ctx context.Context, tx pgx.Tx, b subgate.UsageBatch, now time.Time) (*flushState, error) {
	ids := make([]int64, 0, len(b.Items)+len(b.Release))
	for _, it := range b.Items {
		ids = append(ids, it.SubUserID)
	}
	for _, r := range b.Release {
		ids = append(ids, r.SubUserID)
	}
	st := &flushState{rows: map[int64]*flushRow{}, balances: map[balanceKey]*subgate.Traffic{}, leases: map[balanceKey]int64{},
		dirtyBal: map[balanceKey]bool{}, dirtyLs: map[balanceKey]bool{}, charged: map[hourKey]int64{}, over: map[hourKey]int64{}, returns: map[balanceKey]int64{}}
	q := &pgx.Batch{}
	q.Queue(`INSERT INTO usage_batches (id, node, applied_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, b.ID, b.Node, now)
	q.Queue(`SELECT id, reseller_id, deleted_at IS NOT NULL, day_key, day_used, month_key, month_used, funding = 'shared'
		FROM subusers WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	q.Queue(`SELECT subuser_id, product, available, used FROM balances WHERE subuser_id = ANY($1)`, ids)
	q.Queue(`SELECT subuser_id, product, bytes FROM leases WHERE node = $1 AND subuser_id = ANY($2)`, b.Node, ids)
	br := tx.SendBatch(ctx, q)
	defer br.Close()
	tag, err := br.Exec()
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, nil // applied before
	}
	err = scanAll(br, func(rows pgx.Rows) error {
		var id int64
		r := &flushRow{}
		err := rows.Scan(&id, &r.resellerID, &r.deleted, &r.dayKey, &r.day, &r.monthKey, &r.month, &r.shared)
		st.rows[id] = r
		return err
	})
	if err != nil {
		return nil, err
	}
	err = scanAll(br, func(rows pgx.Rows) error {
		var k balanceKey
		var p string
		t := &subgate.Traffic{}
		err := rows.Scan(&k.id, &p, &t.Available, &t.Used)
		k.p = subgate.Product(p)
		st.balances[k] = t
		return err
	})
	if err != nil {
		return nil, err
	}
	err = scanAll(br, func(rows pgx.Rows) error {
		var k balanceKey
		var p string
		var n int64
		err := rows.Scan(&k.id, &p, &n)
		k.p = subgate.Product(p)
		st.leases[k] = n
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, br.Close()
}

// scanAll calls fn for each row of the batch's next result.
func scanAll(br pgx.BatchResults, fn func(pgx.Rows) error) error {
	rows, err := br.Query()
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

// applyItem settles usage against the lease and the balance, and counts it
// in the row's window counters. Usage of an unknown sub-user is dropped.
func (st *flushState) applyItem(it subgate.UsageItem, ws subgate.Windows, now time.Time) {
	row := st.rows[it.SubUserID]
	if row == nil || it.Bytes <= 0 {
		return
	}
	k := balanceKey{it.SubUserID, it.Product}
	if l, ok := st.leases[k]; ok {
		st.leases[k] = l - min(it.Bytes, l)
		st.dirtyLs[k] = true
	}
	hour := dbTime(subgate.HourOf(it.Hour))
	var charged, over int64
	switch bal := st.balances[k]; {
	case row.shared:
		charged, over = st.shared.charge(row.resellerID, k, hour, it.Bytes)
	case bal != nil:
		charged, over = subgate.Charge(bal.Available, it.Bytes)
		bal.Available -= charged
		bal.Used += charged
		st.dirtyBal[k] = true
		row.deltaAvailable -= charged
		if charged > 0 {
			st.charged[hourKey{k, hour}] += charged
		}
	default:
		over = it.Bytes
	}
	row.deltaUse += charged
	if over > 0 {
		st.over[hourKey{k, hour}] += over
	}
	row.dayKey, row.day = advanceWindow(row.dayKey, row.day, ws.DayKey(it.Hour), it.Bytes)
	row.monthKey, row.month = advanceWindow(row.monthKey, row.month, ws.MonthKey(it.Hour), it.Bytes)
}

// advanceWindow adds n to a window counter when key is its window, starts a
// new window when key is later and ignores usage of a past window.
func advanceWindow(stored, count, key, n int64) (int64, int64) {
	switch {
	case key == stored:
		return stored, count + n
	case key > stored:
		return key, n
	}
	return stored, count
}

// applyRelease shrinks the lease; for a deleted sub-user the released bytes
// go back to the pool, since nothing can use them any more.
func (st *flushState) applyRelease(rel subgate.LeaseRelease, now time.Time) {
	k := balanceKey{rel.SubUserID, rel.Product}
	l, ok := st.leases[k]
	row := st.rows[rel.SubUserID]
	if !ok || row == nil || rel.Bytes <= 0 {
		return
	}
	freed := min(rel.Bytes, l)
	st.leases[k] = l - freed
	st.dirtyLs[k] = true
	bal := st.balances[k]
	if !row.deleted || bal == nil {
		return
	}
	back := min(freed, bal.Available)
	if back <= 0 {
		return
	}
	bal.Available -= back
	st.dirtyBal[k] = true
	row.deltaAvailable -= back
	st.returns[k] += back
	st.ledger = append(st.ledger, subgate.LedgerEntry{ResellerID: row.resellerID, SubUserID: rel.SubUserID,
		Product: rel.Product, Kind: subgate.LedgerReturn, Bytes: back, CreatedAt: now})
}

// write sends every change of the batch in one round trip, one set-based
// statement per table, so a flush costs the same few statements for one
// sub-user or thousands.
func (st *flushState) write(ctx context.Context, tx pgx.Tx, b subgate.UsageBatch, now time.Time) error {
	q := &pgx.Batch{}
	var bal columns
	for k := range st.dirtyBal {
		t := st.balances[k]
		bal.add(k.id, string(k.p), t.Available, t.Used)
	}
	if bal.n > 0 {
		q.Queue(`UPDATE balances b SET available = v.available, used = v.used
			FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) AS v(id, product, available, used)
			WHERE b.subuser_id = v.id AND b.product = v.product`, bal.cols...)
	}
	var windows, totals columns
	for id, r := range st.rows {
		windows.add(id, r.dayKey, r.day, r.monthKey, r.month)
		if r.deltaAvailable != 0 || r.deltaUse != 0 {
			totals.add(id, r.deltaAvailable, r.deltaUse)
		}
	}
	if windows.n > 0 {
		q.Queue(`UPDATE subusers s SET day_key = v.dk, day_used = v.d, month_key = v.mk, month_used = v.m
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS v(id, dk, d, mk, m)
			WHERE s.id = v.id`, windows.cols...)
	}
	if totals.n > 0 {
		q.Queue(`UPDATE totals t SET available = t.available + v.da, used = t.used + v.du
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, da, du)
			WHERE t.subuser_id = v.id`, totals.cols...)
	}
	var kept, dropped columns
	for k := range st.dirtyLs {
		if n := st.leases[k]; n > 0 {
			kept.add(k.id, string(k.p), n)
		} else {
			dropped.add(k.id, string(k.p))
		}
	}
	if kept.n > 0 {
		q.Queue(`UPDATE leases l SET bytes = v.bytes
			FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS v(id, product, bytes)
			WHERE l.subuser_id = v.id AND l.product = v.product AND l.node = $1`, append([]any{b.Node}, kept.cols...)...)
	}
	if dropped.n > 0 {
		q.Queue(`DELETE FROM leases l USING unnest($2::bigint[], $3::text[]) AS v(id, product)
			WHERE l.subuser_id = v.id AND l.product = v.product AND l.node = $1`, append([]any{b.Node}, dropped.cols...)...)
	}
	var usage columns
	for k, n := range st.charged {
		usage.add(st.rows[k.id].resellerID, k.id, string(k.p), k.hour, n)
	}
	if usage.n > 0 {
		queueHourlyUsage(q, usage)
		queueHourlyLedger(q, subgate.LedgerUsage, usage)
	}
	var over columns
	for k, n := range st.over {
		over.add(st.rows[k.id].resellerID, k.id, string(k.p), k.hour, n)
	}
	if over.n > 0 {
		queueHourlyLedger(q, subgate.LedgerOverdraft, over)
	}
	var entries columns
	for _, e := range st.ledger {
		entries.add(e.ResellerID, e.SubUserID, string(e.Product), string(e.Kind), e.Bytes, e.CreatedAt)
	}
	if entries.n > 0 {
		q.Queue(`INSERT INTO ledger (reseller_id, subuser_id, product, kind, bytes, created_at)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[])`, entries.cols...)
	}
	if egress := egressColumns(b); egress.n > 0 {
		q.Queue(`INSERT INTO egress (subuser_id, day_key, key) SELECT id, $1, key FROM unnest($2::bigint[], $3::text[]) AS v(id, key)
			ON CONFLICT DO NOTHING`, append([]any{b.Windows.DayKey(b.Now)}, egress.cols...)...)
	}
	if b.LeaseTTL > 0 {
		q.Queue(`UPDATE leases SET expires_at = $3 WHERE node = $1 AND expires_at > $2`, b.Node, now, dbTime(b.Now.Add(b.LeaseTTL)))
	}
	st.shared.write(q)
	if err := tx.SendBatch(ctx, q).Close(); err != nil {
		return err
	}
	if err := st.returnPools(ctx, tx); err != nil {
		return err
	}
	return st.shared.wake(ctx, tx)
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

// returnPools credits the pools of released bytes of deleted sub-users, in
// (reseller, product) order so concurrent flushes lock pools alike.
func (st *flushState) returnPools(ctx context.Context, tx pgx.Tx) error {
	type poolKey struct {
		reseller int64
		p        subgate.Product
	}
	sums := map[poolKey]int64{}
	var keys []poolKey
	for k, n := range st.returns {
		pk := poolKey{st.rows[k.id].resellerID, k.p}
		if _, ok := sums[pk]; !ok {
			keys = append(keys, pk)
		}
		sums[pk] += n
	}
	slices.SortFunc(keys, func(a, b poolKey) int {
		return cmp.Or(cmp.Compare(a.reseller, b.reseller), cmp.Compare(a.p, b.p))
	})
	steps := make([]step, len(keys))
	for i, k := range keys {
		steps[i] = movePool(k.reseller, k.p, sums[k])
	}
	return runSteps(ctx, tx, steps...)
}
