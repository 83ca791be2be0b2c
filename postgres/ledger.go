package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// ledgerKey is the request an idempotency key was first used for.
type ledgerKey struct {
	ResellerID int64
	Key        string
	Op         string // credit, transfer or create
	SubUserID  int64
	Product    subgate.Product
	Bytes      int64 // signed
}

// claimKey records an idempotency key for a movement. It returns the first
// use of the key when this is a repeat of the same request, nil when the key
// is new or empty, and ECONFLICT when the key was used for something else.
// A concurrent first use blocks on the key's index entry until it commits.
func claimKey(ctx context.Context, tx pgx.Tx, k ledgerKey) (*ledgerKey, error) {
	if k.Key == "" {
		return nil, nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO ledger_keys (reseller_id, key, op, subuser_id, product, bytes)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		k.ResellerID, k.Key, k.Op, k.SubUserID, string(k.Product), k.Bytes)
	if err != nil || tag.RowsAffected() == 1 {
		return nil, err
	}
	first := ledgerKey{ResellerID: k.ResellerID, Key: k.Key}
	var product string
	err = tx.QueryRow(ctx, `SELECT op, subuser_id, product, bytes FROM ledger_keys WHERE reseller_id = $1 AND key = $2`,
		k.ResellerID, k.Key).Scan(&first.Op, &first.SubUserID, &product, &first.Bytes)
	if err != nil {
		return nil, err
	}
	first.Product = subgate.Product(product)
	same := first.Op == k.Op
	if k.Op != "create" {
		same = same && first.SubUserID == k.SubUserID && first.Product == k.Product && first.Bytes == k.Bytes
	}
	if !same {
		return nil, subgate.Errorf(subgate.ECONFLICT, "idempotency key %q was already used for a different request", k.Key)
	}
	return &first, nil
}

// addLedger appends an entry.
func addLedger(e subgate.LedgerEntry) step {
	return step{sql: `INSERT INTO ledger (reseller_id, subuser_id, product, kind, bytes, idempotency_key, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		args: []any{e.ResellerID, nullID(e.SubUserID), string(e.Product), string(e.Kind), e.Bytes, nullText(e.IdempotencyKey), dbTime(e.CreatedAt)}}
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Ledger lists entries newest first.
func (s *Store) Ledger(ctx context.Context, f subgate.LedgerFilter) ([]*subgate.LedgerEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Scope != 0 {
		add("reseller_id = $%d", int64(f.Scope))
	}
	if f.SubUserID != 0 {
		add("subuser_id = $%d", f.SubUserID)
	}
	if f.Kind != "" {
		add("kind = $%d", string(f.Kind))
	}
	if f.Product != "" {
		add("product = $%d", string(f.Product))
	}
	if f.Before != 0 {
		add("id < $%d", f.Before)
	}
	q := `SELECT id, reseller_id, coalesce(subuser_id, 0), product, kind, bytes, coalesce(idempotency_key, ''), created_at FROM ledger`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbError(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*subgate.LedgerEntry, error) {
		e := &subgate.LedgerEntry{}
		var product, kind string
		err := row.Scan(&e.ID, &e.ResellerID, &e.SubUserID, &product, &kind, &e.Bytes, &e.IdempotencyKey, &e.CreatedAt)
		e.Product, e.Kind, e.CreatedAt = subgate.Product(product), subgate.LedgerKind(kind), e.CreatedAt.UTC()
		return e, err
	})
	return out, dbError(err)
}

// Audit sums a reseller's balances per product from the balance columns and,
// independently, from the ledger, in one snapshot.
func (s *Store) Audit(ctx context.Context, resellerID int64) (map[subgate.Product]subgate.AuditLine, error) {
	out := map[subgate.Product]subgate.AuditLine{}
	line := func(p string) subgate.AuditLine { return out[subgate.Product(p)] }
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := scanEach(ctx, tx, `SELECT product, bytes FROM pools WHERE reseller_id = $1`, []any{resellerID},
			func(p string, v []int64) { l := line(p); l.Pool = v[0]; out[subgate.Product(p)] = l }, 1); err != nil {
			return err
		}
		if err := scanEach(ctx, tx, `SELECT b.product, sum(b.available)::bigint, sum(b.used)::bigint
			FROM balances b JOIN subusers s ON s.id = b.subuser_id WHERE s.reseller_id = $1 GROUP BY b.product`, []any{resellerID},
			func(p string, v []int64) { l := line(p); l.Available, l.Used = v[0], v[1]; out[subgate.Product(p)] = l }, 2); err != nil {
			return err
		}
		if err := scanEach(ctx, tx, `SELECT l.product, sum(l.bytes)::bigint
			FROM leases l JOIN subusers s ON s.id = l.subuser_id WHERE s.reseller_id = $1 GROUP BY l.product`, []any{resellerID},
			func(p string, v []int64) { l := line(p); l.Leased = v[0]; out[subgate.Product(p)] = l }, 1); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT product, kind, sum(bytes)::bigint FROM ledger WHERE reseller_id = $1 GROUP BY product, kind`, resellerID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p, kind string
			var n int64
			if err := rows.Scan(&p, &kind, &n); err != nil {
				return err
			}
			l := line(p)
			l.AddLedger(subgate.LedgerKind(kind), n)
			out[subgate.Product(p)] = l
		}
		return rows.Err()
	})
	if err != nil {
		return nil, dbError(err)
	}
	return out, nil
}

// scanEach runs a query whose rows are a product followed by n bigints.
func scanEach(ctx context.Context, tx pgx.Tx, q string, args []any, fn func(product string, v []int64), n int) error {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		v := make([]int64, n)
		dest := []any{&p}
		for i := range v {
			dest = append(dest, &v[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		fn(p, v)
	}
	return rows.Err()
}
