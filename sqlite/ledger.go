package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/subgate/subgate"
)

type ledgerRow struct {
	resellerID, subUserID int64
	product               subgate.Product
	kind                  subgate.LedgerKind
	bytes                 int64
	key                   string
}

func (s *Store) addLedger(ctx context.Context, tx *wtx, l ledgerRow) error {
	if l.bytes <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ledger (reseller_id, subuser_id, product, kind, bytes, idempotency_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, l.resellerID, l.subUserID, string(l.product), string(l.kind), l.bytes, l.key, unixNano(s.now()))
	return err
}

// addHourlyLedger grows the one usage or overdraft row of (sub-user, product, hour).
func addHourlyLedger(ctx context.Context, tx *wtx, l ledgerRow, hourNano int64) error {
	if l.bytes <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ledger (reseller_id, subuser_id, product, kind, bytes, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (subuser_id, product, kind, created_at) WHERE kind IN ('usage', 'overdraft', 'pool_usage')
		DO UPDATE SET bytes = bytes + excluded.bytes`,
		l.resellerID, l.subUserID, string(l.product), string(l.kind), l.bytes, hourNano)
	return err
}

const (
	opPool     = "pool"
	opTransfer = "transfer"
	opCreate   = "create"
)

// ledgerKey is what an idempotency key was first used for.
type ledgerKey struct {
	op        string
	subUserID int64
	product   subgate.Product
	bytes     int64
}

// claimKey records key for a movement. It reports replay=true when the key
// was already used for the same movement, and ECONFLICT when it was used
// for a different one. An empty key claims nothing.
func claimKey(ctx context.Context, tx *wtx, resellerID int64, key string, k ledgerKey) (replay bool, err error) {
	if key == "" {
		return false, nil
	}
	prev, found, err := lookupKey(ctx, tx, resellerID, key)
	if err != nil || !found {
		if err == nil {
			err = insertKey(ctx, tx, resellerID, key, k)
		}
		return false, err
	}
	if prev != k {
		return false, subgate.Errorf(subgate.ECONFLICT, "idempotency key %q was already used for a different request", key)
	}
	return true, nil
}

func lookupKey(ctx context.Context, tx *wtx, resellerID int64, key string) (ledgerKey, bool, error) {
	var k ledgerKey
	var p string
	err := tx.QueryRowContext(ctx, `SELECT op, subuser_id, product, bytes FROM ledger_keys WHERE reseller_id = ? AND key = ?`,
		resellerID, key).Scan(&k.op, &k.subUserID, &p, &k.bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return k, false, nil
	}
	k.product = subgate.Product(p)
	return k, err == nil, err
}

func insertKey(ctx context.Context, tx *wtx, resellerID int64, key string, k ledgerKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ledger_keys (reseller_id, key, op, subuser_id, product, bytes) VALUES (?, ?, ?, ?, ?, ?)`,
		resellerID, key, k.op, k.subUserID, string(k.product), k.bytes)
	return err
}

// Ledger implements subgate.Store.
func (s *Store) Ledger(ctx context.Context, f subgate.LedgerFilter) ([]*subgate.LedgerEntry, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if f.Scope != 0 {
		where, args = append(where, "reseller_id = ?"), append(args, int64(f.Scope))
	}
	if f.SubUserID != 0 {
		where, args = append(where, "subuser_id = ?"), append(args, f.SubUserID)
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(f.Kind))
	}
	if f.Product != "" {
		where, args = append(where, "product = ?"), append(args, string(f.Product))
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	q := `SELECT id, reseller_id, subuser_id, product, kind, bytes, idempotency_key, created_at FROM ledger`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*subgate.LedgerEntry
	for rows.Next() {
		var e subgate.LedgerEntry
		var p, k string
		var at int64
		if err := rows.Scan(&e.ID, &e.ResellerID, &e.SubUserID, &p, &k, &e.Bytes, &e.IdempotencyKey, &at); err != nil {
			return nil, err
		}
		e.Product, e.Kind, e.CreatedAt = subgate.Product(p), subgate.LedgerKind(k), fromNano(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}
