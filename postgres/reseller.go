package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/subgate/subgate"
)

// CreateReseller inserts r with an empty pool for every product.
func (s *Store) CreateReseller(ctx context.Context, r *subgate.Reseller) error {
	created := s.stamp()
	var email *string
	if r.Email != "" {
		e := strings.ToLower(r.Email)
		email = &e
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO resellers (name, email, password_hash, created_at)
			VALUES ($1, $2, $3, $4) RETURNING id`, r.Name, email, r.PasswordHash, created).Scan(&r.ID)
		if uniqueViolation(err, "resellers_email") {
			return subgate.Errorf(subgate.ECONFLICT, "a reseller with email %s exists", r.Email)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO pools (reseller_id, product) SELECT $1, unnest($2::text[])`,
			r.ID, productNames(subgate.Products))
		return err
	})
	if err != nil {
		return err
	}
	r.CreatedAt = created
	if email != nil {
		r.Email = *email
	}
	r.Pools = make(map[subgate.Product]int64, len(subgate.Products))
	for _, p := range subgate.Products {
		r.Pools[p] = 0
	}
	return nil
}

func productNames(ps []subgate.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

const resellerCols = `id, name, coalesce(email, ''), password_hash, created_at`

func scanReseller(row pgx.Row) (*subgate.Reseller, error) {
	r := &subgate.Reseller{}
	err := row.Scan(&r.ID, &r.Name, &r.Email, &r.PasswordHash, &r.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, subgate.NotFound("reseller")
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return r, err
}

// Reseller reads a reseller with its pools.
func (s *Store) Reseller(ctx context.Context, id int64) (*subgate.Reseller, error) {
	return s.resellerWhere(ctx, s.pool, `id = $1`, id)
}

// ResellerByEmail finds a reseller by login email, case-insensitively.
func (s *Store) ResellerByEmail(ctx context.Context, email string) (*subgate.Reseller, error) {
	if email == "" {
		return nil, subgate.NotFound("reseller")
	}
	return s.resellerWhere(ctx, s.pool, `email IS NOT NULL AND lower(email) = lower($1)`, email)
}

// querier is what a pool and a transaction have in common.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Store) resellerWhere(ctx context.Context, q querier, where string, arg any) (*subgate.Reseller, error) {
	r, err := scanReseller(q.QueryRow(ctx, `SELECT `+resellerCols+` FROM resellers WHERE `+where, arg))
	if err != nil {
		return nil, dbError(err)
	}
	pools, err := loadPools(ctx, q, []int64{r.ID})
	if err != nil {
		return nil, dbError(err)
	}
	r.Pools = pools[r.ID]
	return r, nil
}

// loadPools reads the pools of several resellers.
func loadPools(ctx context.Context, q querier, ids []int64) (map[int64]map[subgate.Product]int64, error) {
	rows, err := q.Query(ctx, `SELECT reseller_id, product, bytes FROM pools WHERE reseller_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]map[subgate.Product]int64, len(ids))
	for _, id := range ids {
		out[id] = map[subgate.Product]int64{}
	}
	for rows.Next() {
		var id, b int64
		var p string
		if err := rows.Scan(&id, &p, &b); err != nil {
			return nil, err
		}
		out[id][subgate.Product(p)] = b
	}
	return out, rows.Err()
}

// Resellers lists every reseller by id.
func (s *Store) Resellers(ctx context.Context) ([]*subgate.Reseller, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+resellerCols+` FROM resellers ORDER BY id`)
	if err != nil {
		return nil, dbError(err)
	}
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*subgate.Reseller, error) { return scanReseller(row) })
	if err != nil {
		return nil, dbError(err)
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	pools, err := loadPools(ctx, s.pool, ids)
	if err != nil {
		return nil, dbError(err)
	}
	for _, r := range rs {
		r.Pools = pools[r.ID]
	}
	return rs, nil
}

// CountSubUsers counts a reseller's live sub-users.
func (s *Store) CountSubUsers(ctx context.Context, resellerID int64) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(n), 0)::bigint FROM live_counts WHERE reseller_id = $1`, resellerID).Scan(&n)
	return n, dbError(err)
}

// CreditPool credits or debits a reseller pool; a debit beyond the pool is
// EINSUFFICIENT. A repeated idempotency key with the same product and amount
// changes nothing.
func (s *Store) CreditPool(ctx context.Context, c subgate.PoolCredit) (*subgate.Reseller, error) {
	at := s.stamp()
	var woke int64 // the highest Seq of the shared sub-users woken
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		woke = 0 // a try rolled back drew nothing to announce
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT true FROM resellers WHERE id = $1`, c.ResellerID).Scan(&exists); errors.Is(err, pgx.ErrNoRows) {
			return subgate.NotFound("reseller")
		} else if err != nil {
			return err
		}
		// The shared sub-users woken below are locked before the key and
		// the pool, in the order every transaction locks rows.
		if err := runSteps(ctx, tx, lockShared(c.ResellerID)); err != nil {
			return err
		}
		first, err := claimKey(ctx, tx, ledgerKey{ResellerID: c.ResellerID, Key: c.IdempotencyKey, Op: "credit", Product: c.Product, Bytes: c.Bytes})
		if err != nil || first != nil {
			return err
		}
		kind, amount := subgate.LedgerCredit, c.Bytes
		if c.Bytes < 0 {
			kind, amount = subgate.LedgerDebit, -c.Bytes
		} else if err := checkHeld(ctx, tx, c.ResellerID, c.Product, amount); err != nil {
			return err
		}
		steps := []step{movePool(c.ResellerID, c.Product, c.Bytes),
			addLedger(subgate.LedgerEntry{ResellerID: c.ResellerID, Product: c.Product, Kind: kind,
				Bytes: amount, IdempotencyKey: c.IdempotencyKey, CreatedAt: at})}
		return runSteps(ctx, tx, append(steps, wakeShared(c.ResellerID, &woke)...)...)
	})
	if err != nil {
		return nil, err
	}
	if woke > 0 {
		s.announcer.announce(woke)
	}
	return s.Reseller(ctx, c.ResellerID)
}

// checkHeld refuses a credit that would make the reseller hold more than
// subgate.MaxBytes of a product (see subgate.CheckHeld). The pool row is
// locked first and the sub-users' bytes summed by a later statement, which
// under read committed sees every give or return that held the lock before.
func checkHeld(ctx context.Context, tx pgx.Tx, resellerID int64, p subgate.Product, credit int64) error {
	var pool, subUsers int64
	err := runSteps(ctx, tx,
		step{sql: `SELECT bytes FROM pools WHERE reseller_id = $1 AND product = $2 FOR UPDATE`,
			args: []any{resellerID, string(p)}, scan: []any{&pool}},
		step{sql: `SELECT coalesce(sum(b.available + b.used), 0)::bigint FROM balances b JOIN subusers s ON s.id = b.subuser_id
			WHERE s.reseller_id = $1 AND b.product = $2`, args: []any{resellerID, string(p)}, scan: []any{&subUsers}})
	if err != nil {
		return err
	}
	return subgate.CheckHeld(p, pool+subUsers, credit)
}

// movePool adds delta to a pool with a conditional update; a negative delta
// beyond the pool is EINSUFFICIENT and changes nothing. Every reseller has a
// row per product from its creation.
func movePool(resellerID int64, p subgate.Product, delta int64) step {
	return step{
		// What stays after a give or a debit must still cover the live
		// leases shared sub-users hold on the pool.
		sql: `UPDATE pools SET bytes = bytes + $3
			WHERE reseller_id = $1 AND product = $2 AND bytes + $3 >= CASE WHEN $3 >= 0 THEN 0 ELSE
				(SELECT coalesce(sum(l.bytes), 0) FROM leases l WHERE l.pool_reseller_id = $1 AND l.product = $2 AND l.expires_at > now()) END`,
		args: []any{resellerID, string(p), delta},
		check: func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return insufficientPool(p)
			}
			return nil
		},
	}
}

func insufficientPool(p subgate.Product) error {
	return subgate.PoolShort(p)
}
