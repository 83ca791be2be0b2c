package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// poolKey names one pool of one reseller.
type poolKey struct {
	reseller int64
	p        subgate.Product
}

// sharedFlush is what a batch charges to pools for shared sub-users: usage
// moves from the pool straight to the sub-user's used bytes.
type sharedFlush struct {
	pools    map[poolKey]int64 // locked, as changed in memory
	charged  map[poolKey]int64
	used     map[balanceKey]int64
	hourly   map[hourKey]int64
	reseller map[int64]int64 // sub-user → reseller, for the hourly rows
}

// lockPools locks, in (reseller, product) order, the pools the batch's
// shared sub-users used, and reads them; nothing when there are none.
func (st *flushState) lockPools(ctx context.Context, tx pgx.Tx, b subgate.UsageBatch) error {
	var keys []poolKey
	for _, it := range b.Items {
		if r := st.rows[it.SubUserID]; r != nil && r.shared && it.Bytes > 0 {
			keys = append(keys, poolKey{r.resellerID, it.Product})
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b poolKey) int { return cmp.Or(cmp.Compare(a.reseller, b.reseller), cmp.Compare(a.p, b.p)) })
	keys = slices.Compact(keys)
	var c columns
	for _, k := range keys {
		c.add(k.reseller, string(k.p))
	}
	sf := &st.shared
	sf.pools, sf.charged = map[poolKey]int64{}, map[poolKey]int64{}
	sf.used, sf.hourly, sf.reseller = map[balanceKey]int64{}, map[hourKey]int64{}, map[int64]int64{}
	rows, err := tx.Query(ctx, `SELECT p.reseller_id, p.product, p.bytes FROM pools p
		JOIN unnest($1::bigint[], $2::text[]) AS v(r, product) ON p.reseller_id = v.r AND p.product = v.product
		ORDER BY p.reseller_id, p.product FOR UPDATE OF p`, c.cols...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k poolKey
		var p string
		var n int64
		if err := rows.Scan(&k.reseller, &p, &n); err != nil {
			return err
		}
		k.p = subgate.Product(p)
		sf.pools[k] = n
	}
	return rows.Err()
}

// charge takes n bytes of usage of balance k from the reseller's pool, as
// far as the pool goes; the rest is overdraft.
func (sf *sharedFlush) charge(reseller int64, k balanceKey, hour time.Time, n int64) (charged, over int64) {
	pk := poolKey{reseller, k.p}
	charged, over = subgate.Charge(sf.pools[pk], n)
	if charged > 0 {
		sf.pools[pk] -= charged
		sf.charged[pk] += charged
		sf.used[k] += charged
		sf.hourly[hourKey{k, hour}] += charged
		sf.reseller[k.id] = reseller
	}
	return charged, over
}

// write queues the pool, balance, hourly and ledger changes.
func (sf *sharedFlush) write(q *pgx.Batch) {
	if len(sf.charged) == 0 {
		return
	}
	var pools columns
	for k, n := range sf.charged {
		pools.add(k.reseller, string(k.p), n)
	}
	q.Queue(`UPDATE pools p SET bytes = p.bytes - v.n FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS v(r, product, n)
		WHERE p.reseller_id = v.r AND p.product = v.product`, pools.cols...)
	var used columns
	for k, n := range sf.used {
		used.add(k.id, string(k.p), n)
	}
	q.Queue(`INSERT INTO balances (subuser_id, product, used) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
		ON CONFLICT (subuser_id, product) DO UPDATE SET used = balances.used + excluded.used`, used.cols...)
	var hourly columns
	for k, n := range sf.hourly {
		hourly.add(sf.reseller[k.id], k.id, string(k.p), k.hour, n)
	}
	queueHourlyUsage(q, hourly)
	queueHourlyLedger(q, subgate.LedgerPoolUsage, hourly)
}

// wake gives the shared sub-users of every pool the batch emptied a new Seq.
func (sf *sharedFlush) wake(ctx context.Context, tx pgx.Tx) error {
	var dry []int64
	for k := range sf.charged {
		if sf.pools[k] == 0 {
			dry = append(dry, k.reseller)
		}
	}
	if len(dry) == 0 {
		return nil
	}
	slices.Sort(dry)
	var steps []step
	for _, r := range slices.Compact(dry) {
		steps = append(steps, lockShared(r))
	}
	for _, r := range slices.Compact(dry) {
		steps = append(steps, wakeShared(r)...)
	}
	return runSteps(ctx, tx, steps...)
}
