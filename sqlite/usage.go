package sqlite

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

// Usage implements subgate.Store. Hourly buckets are summed in SQL; day
// steps are folded in Go because days follow q.Windows' time zone.
func (s *Store) Usage(ctx context.Context, q subgate.UsageQuery) ([]subgate.UsagePoint, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	from, to := q.From.Unix(), q.To.Unix()
	if q.From.After(time.Unix(from, 0)) {
		from++ // an hour that starts before From is outside [From, To)
	}
	if q.To.After(time.Unix(to, 0)) {
		to++
	}
	where := []string{"hour >= ?", "hour < ?"}
	args := []any{from, to}
	if q.Scope != 0 {
		where, args = append(where, "reseller_id = ?"), append(args, int64(q.Scope))
	}
	if len(q.SubUserIDs) > 0 {
		ids := make([]string, len(q.SubUserIDs))
		for i, id := range q.SubUserIDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		where = append(where, "subuser_id IN ("+strings.Join(ids, ",")+")")
	}
	by := "0"
	if q.BySubUser {
		by = "subuser_id"
	}
	var db querier = s.read
	if len(q.SubUserIDs) > 0 {
		db = raw(s.read) // literal ids: one-off text
	}
	rows, err := db.QueryContext(ctx, `SELECT hour, `+by+`, product, sum(bytes) FROM usage_hourly
		WHERE `+strings.Join(where, " AND ")+` GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	series := storeutil.NewUsageSeries()
	for rows.Next() {
		var hour, id, n int64
		var p string
		if err := rows.Scan(&hour, &id, &p, &n); err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		t := time.Unix(hour, 0).UTC()
		if q.Granularity == subgate.GranularityDay {
			t = storeutil.DayStart(t, q.Windows)
		}
		series.Add(t, id, subgate.Product(p), n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return series.Points(), nil
}
