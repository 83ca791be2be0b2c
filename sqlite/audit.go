package sqlite

import (
	"context"

	"github.com/subgate/subgate"
)

// Audit implements subgate.Store. Balances and ledger are summed by separate
// queries so a bug in one cannot hide in the other.
func (s *Store) Audit(ctx context.Context, resellerID int64) (map[subgate.Product]subgate.AuditLine, error) {
	lines := map[subgate.Product]*subgate.AuditLine{}
	line := func(p string) *subgate.AuditLine {
		l := lines[subgate.Product(p)]
		if l == nil {
			l = &subgate.AuditLine{}
			lines[subgate.Product(p)] = l
		}
		return l
	}
	for _, p := range subgate.Products {
		line(string(p))
	}
	sqlTx, err := s.read.BeginTx(ctx, nil) // one snapshot for every sum
	if err != nil {
		return nil, err
	}
	tx := &wtx{Tx: sqlTx, cache: s.read.cache}
	defer s.read.cache.preparePending(ctx)
	defer tx.Rollback()
	scan := func(query string, fn func(p string, a, b int64, kind string), withKind bool) error {
		rows, err := tx.QueryContext(ctx, query, resellerID, unixNano(s.now()))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p, kind string
			var a, b int64
			dest := []any{&p, &a, &b}
			if withKind {
				dest = append(dest, &kind)
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			fn(p, a, b, kind)
		}
		return rows.Err()
	}
	steps := []struct {
		query    string
		withKind bool
		fn       func(p string, a, b int64, kind string)
	}{
		{`SELECT product, bytes, 0 FROM pools WHERE reseller_id = ?1 AND ?2 = ?2`, false,
			func(p string, a, _ int64, _ string) { line(p).Pool = a }},
		{`SELECT b.product, sum(b.available), sum(b.used) FROM balances b JOIN subusers s ON s.id = b.subuser_id
			WHERE s.reseller_id = ?1 AND ?2 = ?2 GROUP BY b.product`, false,
			func(p string, a, b int64, _ string) { l := line(p); l.Available, l.Used = a, b }},
		{`SELECT l.product, sum(l.bytes), 0 FROM leases l JOIN subusers s ON s.id = l.subuser_id
			WHERE s.reseller_id = ?1 AND l.expires_at > ?2 GROUP BY l.product`, false,
			func(p string, a, _ int64, _ string) { line(p).Leased = a }},
		{`SELECT product, sum(bytes), 0, kind FROM ledger WHERE reseller_id = ?1 AND ?2 = ?2 GROUP BY product, kind`, true,
			func(p string, a, _ int64, kind string) { line(p).AddLedger(subgate.LedgerKind(kind), a) }},
	}
	for _, st := range steps {
		if err := scan(st.query, st.fn, st.withKind); err != nil {
			return nil, err
		}
	}
	out := make(map[subgate.Product]subgate.AuditLine, len(lines))
	for p, l := range lines {
		out[p] = *l
	}
	return out, nil
}
