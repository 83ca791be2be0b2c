package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

// Usage answers a usage series from the hourly buckets in [From, To). Days
// are folded in Go so they follow the Windows' location exactly.
func (s *Store) Usage(ctx context.Context, q subgate.UsageQuery) ([]subgate.UsagePoint, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	args := []any{dbTime(q.From), dbTime(q.To)}
	where := []string{"h.hour >= $1", "h.hour < $2"}
	if q.Scope != 0 {
		args = append(args, int64(q.Scope))
		where = append(where, fmt.Sprintf("h.reseller_id = $%d", len(args)))
	}
	if len(q.SubUserIDs) > 0 {
		args = append(args, q.SubUserIDs)
		where = append(where, fmt.Sprintf("h.subuser_id = ANY($%d)", len(args)))
	}
	who := "0"
	if q.BySubUser {
		who = "h.subuser_id"
	}
	rows, err := s.pool.Query(ctx, `SELECT h.hour, `+who+`, h.product, sum(h.bytes)::bigint
		FROM usage_hourly h WHERE `+strings.Join(where, " AND ")+` GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	series := storeutil.NewUsageSeries()
	for rows.Next() {
		var t time.Time
		var id, n int64
		var p string
		if err := rows.Scan(&t, &id, &p, &n); err != nil {
			return nil, dbError(err)
		}
		t = t.UTC()
		if q.Granularity == subgate.GranularityDay {
			t = storeutil.DayStart(t, q.Windows).UTC()
		}
		series.Add(t, id, subgate.Product(p), n)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err)
	}
	return series.Points(), nil
}
