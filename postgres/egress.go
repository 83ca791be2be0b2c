package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// egressLockClass is the first key of the two-key advisory lock that
// serialises a sub-user's egress admissions (the second is the sub-user id
// folded into 31 bits; a collision only makes two sub-users queue). The
// two-key space is apart from the one-key space of the migration lock, and the
// sub-user row is not locked, so admissions do not wait on flushes.
const egressLockClass int32 = 0x45677273 // "Egrs"

// AdmitEgress implements subgate.Store.
func (s *Store) AdmitEgress(ctx context.Context, r subgate.EgressRequest) (subgate.EgressAdmission, error) {
	var a subgate.EgressAdmission
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		a = subgate.EgressAdmission{}
		var known bool
		// Statements after the lock see every admission committed before it.
		err := runSteps(ctx, tx,
			step{sql: `SELECT pg_advisory_xact_lock($1::int, ($2::bigint % 2147483647)::int)`,
				args: []any{egressLockClass, r.SubUserID}, scan: []any{new(any)}},
			step{sql: `SELECT count(*), coalesce(bool_or(key = $3), false) FROM egress WHERE subuser_id = $1 AND day_key = $2`,
				args: []any{r.SubUserID, r.DayKey, r.Key}, scan: []any{&a.Count, &known}})
		if err != nil {
			return err
		}
		a.Admitted = subgate.AdmitsEgress(known, a.Count, r.Cap)
		b := &pgx.Batch{}
		if a.Admitted && !known {
			// A flush records the keys its node admitted outside the lock:
			// one committing the same key meanwhile has recorded it already.
			b.Queue(`INSERT INTO egress (subuser_id, day_key, key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, r.SubUserID, r.DayKey, r.Key)
			a.Count++
		}
		if r.ListKeys {
			b.Queue(`SELECT key FROM egress WHERE subuser_id = $1 AND day_key = $2 ORDER BY key`, r.SubUserID, r.DayKey)
		}
		if b.Len() == 0 {
			return nil
		}
		return readEgressBatch(ctx, tx, b, a.Admitted && !known, r.ListKeys, &a.Keys)
	})
	return a, err
}

// readEgressBatch sends the insert and the key list in one round trip.
func readEgressBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch, inserted, listed bool, keys *[]string) error {
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if inserted {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	if listed {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		*keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
	}
	return br.Close()
}
