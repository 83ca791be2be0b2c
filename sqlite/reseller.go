package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/subgate/subgate"
)

// CreateReseller implements subgate.Store.
func (s *Store) CreateReseller(ctx context.Context, r *subgate.Reseller) error {
	r.Email = strings.ToLower(r.Email)
	r.CreatedAt = s.now().UTC()
	err := s.update(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO resellers (name, email, password_hash, created_at) VALUES (?, ?, ?, ?)`,
			r.Name, r.Email, r.PasswordHash, unixNano(r.CreatedAt))
		if isUnique(err) {
			return subgate.Errorf(subgate.ECONFLICT, "a reseller with email %s already exists", r.Email)
		}
		if err != nil {
			return err
		}
		r.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return err
	}
	r.Pools = emptyPools()
	return nil
}

func emptyPools() map[subgate.Product]int64 {
	m := make(map[subgate.Product]int64, len(subgate.Products))
	for _, p := range subgate.Products {
		m[p] = 0
	}
	return m
}

const resellerColumns = `id, name, email, password_hash, created_at`

func scanReseller(row interface{ Scan(...any) error }) (*subgate.Reseller, error) {
	var r subgate.Reseller
	var created int64
	if err := row.Scan(&r.ID, &r.Name, &r.Email, &r.PasswordHash, &created); err != nil {
		return nil, err
	}
	r.CreatedAt = fromNano(created)
	return &r, nil
}

// Reseller implements subgate.Store.
func (s *Store) Reseller(ctx context.Context, id int64) (*subgate.Reseller, error) {
	return s.resellerWhere(ctx, s.read, `id = ?`, id)
}

// ResellerByEmail implements subgate.Store.
func (s *Store) ResellerByEmail(ctx context.Context, email string) (*subgate.Reseller, error) {
	if email == "" {
		return nil, subgate.NotFound("reseller")
	}
	return s.resellerWhere(ctx, s.read, `email = ? COLLATE NOCASE AND email <> ''`, email)
}

func (s *Store) resellerWhere(ctx context.Context, q querier, where string, args ...any) (*subgate.Reseller, error) {
	r, err := scanReseller(q.QueryRowContext(ctx, `SELECT `+resellerColumns+` FROM resellers WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, subgate.NotFound("reseller")
	}
	if err != nil {
		return nil, err
	}
	r.Pools, err = pools(ctx, q, r.ID)
	return r, err
}

func pools(ctx context.Context, q querier, resellerID int64) (map[subgate.Product]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT product, bytes FROM pools WHERE reseller_id = ?`, resellerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := emptyPools()
	for rows.Next() {
		var p string
		var b int64
		if err := rows.Scan(&p, &b); err != nil {
			return nil, err
		}
		m[subgate.Product(p)] = b
	}
	return m, rows.Err()
}

// Resellers implements subgate.Store.
func (s *Store) Resellers(ctx context.Context) ([]*subgate.Reseller, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+resellerColumns+` FROM resellers ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var list []*subgate.Reseller
	for rows.Next() {
		r, err := scanReseller(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	byID := make(map[int64]*subgate.Reseller, len(list))
	for _, r := range list {
		r.Pools = emptyPools()
		byID[r.ID] = r
	}
	prows, err := s.read.QueryContext(ctx, `SELECT reseller_id, product, bytes FROM pools`)
	if err != nil {
		return nil, err
	}
	defer prows.Close()
	for prows.Next() {
		var id, b int64
		var p string
		if err := prows.Scan(&id, &p, &b); err != nil {
			return nil, err
		}
		if r := byID[id]; r != nil {
			r.Pools[subgate.Product(p)] = b
		}
	}
	return list, prows.Err()
}

// CountSubUsers implements subgate.Store.
func (s *Store) CountSubUsers(ctx context.Context, resellerID int64) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT live_subusers FROM resellers WHERE id = ?`, resellerID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, subgate.NotFound("reseller")
	}
	return n, err
}

// CreditPool implements subgate.Store.
func (s *Store) CreditPool(ctx context.Context, c subgate.PoolCredit) (*subgate.Reseller, error) {
	var r *subgate.Reseller
	err := s.update(ctx, func(tx *wtx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM resellers WHERE id = ?`, c.ResellerID).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return subgate.NotFound("reseller")
		}
		replay, err := claimKey(ctx, tx, c.ResellerID, c.IdempotencyKey, ledgerKey{op: opPool, product: c.Product, bytes: c.Bytes})
		if err != nil {
			return err
		}
		if !replay {
			if err := s.creditPool(ctx, tx, c); err != nil {
				return err
			}
		}
		r, err = s.resellerWhere(ctx, tx, `id = ?`, c.ResellerID)
		return err
	})
	return r, err
}

func (s *Store) creditPool(ctx context.Context, tx *wtx, c subgate.PoolCredit) error {
	kind, amount := subgate.LedgerCredit, c.Bytes
	if c.Bytes < 0 {
		kind, amount = subgate.LedgerDebit, -c.Bytes
		if err := takeFromPool(ctx, tx, c.ResellerID, c.Product, amount); err != nil {
			return err
		}
	} else {
		held, err := heldBytes(ctx, tx, c.ResellerID, c.Product)
		if err != nil {
			return err
		}
		if err := subgate.CheckHeld(c.Product, held, amount); err != nil {
			return err
		}
		if err := addToPool(ctx, tx, c.ResellerID, c.Product, amount); err != nil {
			return err
		}
	}
	return s.addLedger(ctx, tx, ledgerRow{resellerID: c.ResellerID, product: c.Product, kind: kind, bytes: amount, key: c.IdempotencyKey})
}

// heldBytes is what a reseller holds of a product (see subgate.CheckHeld):
// its pool plus every sub-user's available and used bytes, deleted ones too.
func heldBytes(ctx context.Context, tx *wtx, resellerID int64, p subgate.Product) (int64, error) {
	var held int64
	err := tx.QueryRowContext(ctx, `SELECT
		coalesce((SELECT bytes FROM pools WHERE reseller_id = ?1 AND product = ?2), 0) +
		coalesce((SELECT sum(b.available + b.used) FROM balances b JOIN subusers s ON s.id = b.subuser_id
			WHERE s.reseller_id = ?1 AND b.product = ?2), 0)`, resellerID, string(p)).Scan(&held)
	return held, err
}

func addToPool(ctx context.Context, tx *wtx, resellerID int64, p subgate.Product, b int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO pools (reseller_id, product, bytes) VALUES (?, ?, ?)
		ON CONFLICT (reseller_id, product) DO UPDATE SET bytes = bytes + excluded.bytes`, resellerID, string(p), b)
	return err
}

// takeFromPool removes b bytes from a pool, EINSUFFICIENT when it holds less.
func takeFromPool(ctx context.Context, tx *wtx, resellerID int64, p subgate.Product, b int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE pools SET bytes = bytes - ?1 WHERE reseller_id = ?2 AND product = ?3 AND bytes >= ?1`,
		b, resellerID, string(p))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var have int64
	tx.QueryRowContext(ctx, `SELECT bytes FROM pools WHERE reseller_id = ? AND product = ?`, resellerID, string(p)).Scan(&have)
	return subgate.Errorf(subgate.EINSUFFICIENT, "pool %s holds %d bytes, %d needed", p, have, b)
}
