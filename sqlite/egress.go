package sqlite

import (
	"context"

	"github.com/subgate/subgate"
)

// AdmitEgress implements subgate.Store. Write transactions are BEGIN
// IMMEDIATE, so admissions serialise, also across processes on one file.
func (s *Store) AdmitEgress(ctx context.Context, r subgate.EgressRequest) (subgate.EgressAdmission, error) {
	var a subgate.EgressAdmission
	err := s.update(ctx, func(tx *wtx) error {
		a = subgate.EgressAdmission{}
		var known bool
		err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(key = ?), 0) FROM egress WHERE subuser_id = ? AND day_key = ?`,
			r.Key, r.SubUserID, r.DayKey).Scan(&a.Count, &known)
		if err != nil {
			return err
		}
		a.Admitted = subgate.AdmitsEgress(known, a.Count, r.Cap)
		if a.Admitted && !known {
			if _, err := tx.ExecContext(ctx, `INSERT INTO egress (subuser_id, day_key, key) VALUES (?, ?, ?)`,
				r.SubUserID, r.DayKey, r.Key); err != nil {
				return err
			}
			a.Count++
		}
		if r.ListKeys {
			a.Keys, err = egressKeys(ctx, tx, r.SubUserID, r.DayKey)
		}
		return err
	})
	return a, err
}

func egressKeys(ctx context.Context, q querier, id, day int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT key FROM egress WHERE subuser_id = ? AND day_key = ? ORDER BY key`, id, day)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
