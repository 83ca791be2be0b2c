package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/settle"
)

// FlushUsage applies a batch once per batch ID, in one transaction: the
// rows are loaded and locked, the settlement rules (package settle) change
// them in memory, and every change goes back in one round trip. The shared
// sub-users of pools the batch emptied are woken after it commits (wakeDry).
func (s *Store) FlushUsage(ctx context.Context, b subgate.UsageBatch) error {
	now := dbTime(b.Now)
	var dry []int64 // resellers whose pools the batch emptied
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		dry = nil
		bk, err := loadBooks(ctx, tx, b, now)
		if err != nil || bk == nil {
			return err
		}
		if err := lockPools(ctx, tx, bk, bk.PoolsNeeded(b)); err != nil {
			return err
		}
		bk.Apply(b)
		if err := writeBooks(ctx, tx, bk, b, now); err != nil {
			return err
		}
		dry = bk.Dry()
		return nil
	})
	if err != nil {
		return err
	}
	s.maybeHousekeep(ctx, b)
	return s.wakeDry(ctx, dry)
}

// loadBooks claims the batch ID, locks the batch's sub-users in id order and
// reads their balances and this node's leases, in one round trip. It
// returns nil when the batch was applied before.
func loadBooks(ctx context.Context, tx pgx.Tx, b subgate.UsageBatch, now time.Time) (*settle.Books, error) {
	ids := settle.SubUserIDs(b)
	bk := settle.NewBooks()
	q := &pgx.Batch{}
	q.Queue(`INSERT INTO usage_batches (id, node, applied_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, b.ID, b.Node, now)
	q.Queue(`SELECT id, reseller_id, deleted_at IS NOT NULL, funding = 'shared', day_key, day_used, month_key, month_used
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
		r := &settle.Row{}
		err := rows.Scan(&id, &r.ResellerID, &r.Deleted, &r.Shared, &r.DayKey, &r.Day, &r.MonthKey, &r.Month)
		bk.Rows[id] = r
		return err
	})
	if err != nil {
		return nil, err
	}
	err = scanAll(br, func(rows pgx.Rows) error {
		var k settle.BalanceKey
		t := &subgate.Traffic{}
		err := rows.Scan(&k.SubUserID, &k.Product, &t.Available, &t.Used)
		bk.Balances[k] = t
		return err
	})
	if err != nil {
		return nil, err
	}
	err = scanAll(br, func(rows pgx.Rows) error {
		var k settle.BalanceKey
		var n int64
		err := rows.Scan(&k.SubUserID, &k.Product, &n)
		bk.Leases[k] = n
		return err
	})
	if err != nil {
		return nil, err
	}
	return bk, br.Close()
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

// lockPools locks and reads the pools the batch changes (settle's
// PoolsNeeded), in their (reseller, product) order; nothing when there are
// none.
func lockPools(ctx context.Context, tx pgx.Tx, bk *settle.Books, keys []settle.PoolKey) error {
	if len(keys) == 0 {
		return nil
	}
	var c columns
	for _, k := range keys {
		c.add(k.ResellerID, string(k.Product))
	}
	rows, err := tx.Query(ctx, `SELECT p.reseller_id, p.product, p.bytes FROM pools p
		JOIN unnest($1::bigint[], $2::text[]) AS v(r, product) ON p.reseller_id = v.r AND p.product = v.product
		ORDER BY p.reseller_id, p.product FOR UPDATE OF p`, c.cols...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k settle.PoolKey
		var n int64
		if err := rows.Scan(&k.ResellerID, &k.Product, &n); err != nil {
			return err
		}
		bk.Pools[k] = n
	}
	return rows.Err()
}

// writeBooks sends every change of the batch in one round trip, one
// set-based statement per table, so a flush costs the same few statements
// for one sub-user or thousands; then returns released bytes of deleted
// sub-users to their pools, which lockPools locked with the others.
func writeBooks(ctx context.Context, tx pgx.Tx, bk *settle.Books, b subgate.UsageBatch, now time.Time) error {
	q := &pgx.Batch{}
	var bal columns
	for k := range bk.DirtyBalances {
		t := bk.Balances[k]
		bal.add(k.SubUserID, string(k.Product), t.Available, t.Used)
	}
	if bal.n > 0 {
		q.Queue(`UPDATE balances b SET available = v.available, used = v.used
			FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) AS v(id, product, available, used)
			WHERE b.subuser_id = v.id AND b.product = v.product`, bal.cols...)
	}
	var windows, totals columns
	for id, r := range bk.Rows {
		windows.add(id, r.DayKey, r.Day, r.MonthKey, r.Month)
		if r.AvailableDelta != 0 || r.UsedDelta != 0 {
			totals.add(id, r.AvailableDelta, r.UsedDelta)
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
	queueLeases(q, bk, b.Node)
	queueSharedUsage(q, bk)
	for kind, m := range map[subgate.LedgerKind]map[settle.HourKey]int64{
		subgate.LedgerUsage: bk.Usage, subgate.LedgerPoolUsage: bk.PoolUsage, subgate.LedgerOverdraft: bk.Overdraft,
	} {
		var rows columns
		for k, n := range m {
			rows.add(bk.Rows[k.SubUserID].ResellerID, k.SubUserID, string(k.Product), dbTime(k.Hour), n)
		}
		if rows.n == 0 {
			continue
		}
		if kind != subgate.LedgerOverdraft {
			queueHourlyUsage(q, rows)
		}
		queueHourlyLedger(q, kind, rows)
	}
	var entries columns
	for _, e := range bk.Returns {
		entries.add(e.ResellerID, e.SubUserID, string(e.Product), string(e.Kind), e.Bytes, dbTime(e.CreatedAt))
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
		// Leases of sub-users the batch did not lock: one another
		// transaction holds (a lease request of this node replacing it, or
		// of a node whose clock finds it expired, deleting it) is skipped,
		// not waited for while this one holds pools that request may need.
		q.Queue(`UPDATE leases SET expires_at = $3 WHERE (subuser_id, product, node) IN (SELECT subuser_id, product, node
			FROM leases WHERE node = $1 AND expires_at > $2 FOR UPDATE SKIP LOCKED)`, b.Node, now, dbTime(b.Now.Add(b.LeaseTTL)))
	}
	if err := tx.SendBatch(ctx, q).Close(); err != nil {
		return err
	}
	keys, sums := bk.ReturnedToPools()
	steps := make([]step, len(keys))
	for i, k := range keys {
		steps[i] = movePool(k.ResellerID, k.Product, sums[k])
	}
	return runSteps(ctx, tx, steps...)
}

// queueLeases writes the node's changed leases; emptied ones are deleted.
func queueLeases(q *pgx.Batch, bk *settle.Books, node string) {
	var kept, dropped columns
	for k := range bk.DirtyLeases {
		if n := bk.Leases[k]; n > 0 {
			kept.add(k.SubUserID, string(k.Product), n)
		} else {
			dropped.add(k.SubUserID, string(k.Product))
		}
	}
	if kept.n > 0 {
		q.Queue(`UPDATE leases l SET bytes = v.bytes
			FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS v(id, product, bytes)
			WHERE l.subuser_id = v.id AND l.product = v.product AND l.node = $1`, append([]any{node}, kept.cols...)...)
	}
	if dropped.n > 0 {
		q.Queue(`DELETE FROM leases l USING unnest($2::bigint[], $3::text[]) AS v(id, product)
			WHERE l.subuser_id = v.id AND l.product = v.product AND l.node = $1`, append([]any{node}, dropped.cols...)...)
	}
}

// queueSharedUsage moves shared usage from the pools to the sub-users' used
// bytes (a shared sub-user may have no balance row yet).
func queueSharedUsage(q *pgx.Batch, bk *settle.Books) {
	if len(bk.PoolCharged) == 0 {
		return
	}
	var pools columns
	for k, n := range bk.PoolCharged {
		pools.add(k.ResellerID, string(k.Product), n)
	}
	q.Queue(`UPDATE pools p SET bytes = p.bytes - v.n FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS v(r, product, n)
		WHERE p.reseller_id = v.r AND p.product = v.product`, pools.cols...)
	var used columns
	for k, n := range bk.SharedUsed {
		used.add(k.SubUserID, string(k.Product), n)
	}
	q.Queue(`INSERT INTO balances (subuser_id, product, used) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
		ON CONFLICT (subuser_id, product) DO UPDATE SET used = balances.used + excluded.used`, used.cols...)
}

// wakeDry gives the shared sub-users of every pool a flush emptied a new
// Seq, so every node cuts them at once. It runs in a transaction of its own
// after the flush commits: it locks those sub-users' rows, and the flush
// holds pools, which come after sub-user rows in the lock order; a lease
// request holding one of them and waiting for the pool would deadlock with
// it. Should it not run (the node stops in between), the sub-users' nodes
// still stop at the end of their leases, which the empty pool no longer
// renews.
func (s *Store) wakeDry(ctx context.Context, resellers []int64) error {
	if len(resellers) == 0 {
		return nil
	}
	var woke int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// One stripe covers every Seq drawn here (see wakeShared).
		steps := []step{lockShared(resellers...), lockStripe(resellers[0])}
		seqs := make([]int64, len(resellers))
		for i, r := range resellers {
			steps = append(steps, drawWakeSeqs(r, &seqs[i]))
		}
		if err := runSteps(ctx, tx, steps...); err != nil {
			return err
		}
		woke = slices.Max(seqs)
		return nil
	})
	if err == nil && woke > 0 {
		s.announcer.announce(woke)
	}
	return err
}
