package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// liveLeasesSQL sums a sub-user's leases per balance that are live at $2.
const liveLeasesSQL = `SELECT product, sum(bytes)::bigint FROM leases
	WHERE subuser_id = $1 AND expires_at > $2 GROUP BY product`

// liveLeases sums a sub-user's leases per balance that are live at now.
func liveLeases(ctx context.Context, tx pgx.Tx, id int64, now time.Time) (map[subgate.Product]int64, error) {
	rows, err := tx.Query(ctx, liveLeasesSQL, id, dbTime(now))
	if err != nil {
		return nil, err
	}
	return scanLeaseSums(rows)
}

func scanLeaseSums(rows pgx.Rows) (map[subgate.Product]int64, error) {
	defer rows.Close()
	out := map[subgate.Product]int64{}
	for rows.Next() {
		var p string
		var b int64
		if err := rows.Scan(&p, &b); err != nil {
			return nil, err
		}
		out[subgate.Product(p)] = b
	}
	return out, rows.Err()
}

// Transfer gives (Bytes > 0) or takes (Bytes < 0) traffic between the pool
// and a live sub-user of scope. A take may not touch leased bytes.
func (s *Store) Transfer(ctx context.Context, t subgate.Transfer) (*subgate.SubUser, error) {
	at := s.stamp()
	var out *subgate.SubUser
	err := s.inLockedTx(ctx, t.Scope, t.SubUserID, func(tx pgx.Tx, u *subgate.SubUser) error {
		first, err := claimKey(ctx, tx, ledgerKey{ResellerID: u.ResellerID, Key: t.IdempotencyKey, Op: "transfer",
			SubUserID: u.ID, Product: t.Product, Bytes: t.Bytes})
		if err != nil {
			return err
		}
		if first != nil {
			out = u
			return nil
		}
		if u.Shared() {
			return subgate.NoOwnBalance()
		}
		var steps []step
		if t.Bytes >= 0 {
			steps = give(u, t, at)
		} else if steps, err = take(ctx, tx, u, t, at); err != nil {
			return err
		}
		var seq int64
		if err := runSteps(ctx, tx, append(steps, seqSteps(u.ID, &seq)...)...); err != nil {
			return err
		}
		// The row is locked: the result is the read row plus this transfer.
		tr := u.Traffic[t.Product]
		tr.Available += t.Bytes
		u.Traffic[t.Product], u.Seq, out = tr, seq, u
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.announcer.announce(out.Seq)
	return out, nil
}

func give(u *subgate.SubUser, t subgate.Transfer, at time.Time) []step {
	return append([]step{movePool(u.ResellerID, t.Product, -t.Bytes)},
		append(addAvailable(u.ID, t.Product, t.Bytes),
			addLedger(subgate.LedgerEntry{ResellerID: u.ResellerID, SubUserID: u.ID, Product: t.Product,
				Kind: subgate.LedgerGive, Bytes: t.Bytes, IdempotencyKey: t.IdempotencyKey, CreatedAt: at}))...)
}

func take(ctx context.Context, tx pgx.Tx, u *subgate.SubUser, t subgate.Transfer, at time.Time) ([]step, error) {
	b := -t.Bytes
	leased, err := liveLeases(ctx, tx, u.ID, at)
	if err != nil {
		return nil, err
	}
	if err := subgate.CheckTake(t.Product, u.Traffic[t.Product].Available, leased[t.Product], b); err != nil {
		return nil, err
	}
	return append(addAvailable(u.ID, t.Product, -b), movePool(u.ResellerID, t.Product, b),
		addLedger(subgate.LedgerEntry{ResellerID: u.ResellerID, SubUserID: u.ID, Product: t.Product,
			Kind: subgate.LedgerTake, Bytes: b, IdempotencyKey: t.IdempotencyKey, CreatedAt: at})), nil
}

// addAvailable changes a balance's available bytes and the row's total.
func addAvailable(id int64, p subgate.Product, delta int64) []step {
	balance := step{sql: `INSERT INTO balances (subuser_id, product, available) VALUES ($1, $2, $3)
		ON CONFLICT (subuser_id, product) DO UPDATE SET available = balances.available + excluded.available`,
		args: []any{id, string(p), delta}}
	if delta < 0 {
		// An insert would be checked against available >= 0 before its conflict.
		balance.sql = `UPDATE balances SET available = available + $3 WHERE subuser_id = $1 AND product = $2`
	}
	return []step{balance, {sql: `UPDATE totals SET available = available + $2 WHERE subuser_id = $1`, args: []any{id, delta}}}
}
