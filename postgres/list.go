package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

// listSource is where a list order is read from: the sub-user rows, or the
// totals beside them for the used and available orders, each with indexes
// on (reseller, key, id) and (key, id) over live rows.
type listSource struct {
	from, live, reseller, id string
}

var (
	fromSubUsers = listSource{from: "subusers s", live: "s.deleted_at IS NULL", reseller: "s.reseller_id", id: "s.id"}
	fromTotals   = listSource{from: "totals t JOIN subusers s ON s.id = t.subuser_id", live: "t.live", reseller: "t.reseller_id", id: "t.subuser_id"}
	// totalsAlone serves the totals' orders when no condition is on the
	// sub-user row: the page is then chosen from the sort index alone.
	totalsAlone = listSource{from: "totals t", live: "t.live", reseller: "t.reseller_id", id: "t.subuser_id"}
)

// sortKeys maps a sort order to its key column and source.
var sortKeys = map[subgate.SubUserSort]struct {
	col string
	src listSource
}{
	subgate.SortID:        {"s.id", fromSubUsers},
	subgate.SortUsername:  {"s.username", fromSubUsers},
	subgate.SortCreatedAt: {"s.created_at", fromSubUsers},
	subgate.SortStatus:    {"s.status", fromSubUsers},
	subgate.SortUsed:      {"t.used", fromTotals},
	subgate.SortAvailable: {"t.available", fromTotals},
}

// cursorValue is the cursor's sort value as the column's Go type;
// created_at positions hold the time as RFC 3339 text.
func cursorValue(c storeutil.Cursor) (any, error) {
	switch c.Sort {
	case subgate.SortID:
		return c.ID, nil
	case subgate.SortUsed, subgate.SortAvailable:
		return c.N, nil
	case subgate.SortCreatedAt:
		t, err := time.Parse(time.RFC3339Nano, c.T)
		if err != nil {
			return nil, subgate.Invalidf("after", "is not a valid cursor")
		}
		return t, nil
	}
	return c.T, nil
}

func cursorOf(u *subgate.SubUser, f subgate.SubUserFilter) string {
	c := storeutil.CursorAfter(u, f)
	if f.Sort == subgate.SortCreatedAt {
		c.T = u.CreatedAt.Format(time.RFC3339Nano)
	}
	return c.Encode()
}

// searchSeparator joins the fields of the search column; a search holding it
// could match across two fields, so it is dropped from searches.
const searchSeparator = "\x1f"

// minTrigramRun is the shortest run of letters or digits pg_trgm draws a
// trigram from in a %…% pattern.
const minTrigramRun = 3

// searchCondition matches the search column against a substring. A search
// without a trigram would make the trigram index return every row while the
// planner expects a handful, so such searches hide the column from the
// index and walk the list order instead (they stop after a page of matches).
func searchCondition(search string, arg func(any) string) string {
	p := arg(likePattern(strings.ReplaceAll(search, searchSeparator, "")))
	if longestWordRun(search) < minTrigramRun {
		return "(s.search || '') LIKE lower(" + p + ")"
	}
	return "s.search LIKE lower(" + p + ")"
}

// longestWordRun is the length in characters of the longest run of letters
// and digits in s.
func longestWordRun(s string) int {
	best, run := 0, 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// likePattern makes a case-insensitive substring pattern of s with LIKE's
// wildcards escaped ('_' is common in usernames).
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// SubUsers lists a page of live sub-users.
func (s *Store) SubUsers(ctx context.Context, f subgate.SubUserFilter) (*subgate.SubUserPage, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	key := sortKeys[f.Sort]
	col, src := key.col, key.src
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	// The conditions on the sub-user row; scope is on the list source.
	var scopeArg string
	if f.Scope != 0 {
		scopeArg = arg(int64(f.Scope))
	}
	var conds []string
	if f.Status != "" {
		conds = append(conds, "s.status = "+arg(string(f.Status)))
	}
	if f.Search != "" {
		conds = append(conds, searchCondition(f.Search, arg))
	}
	if src == fromTotals && len(conds) == 0 {
		src = totalsAlone
	}
	where = append(where, src.live)
	if scopeArg != "" {
		where = append(where, src.reseller+" = "+scopeArg)
	}
	where = append(where, conds...)
	out := &subgate.SubUserPage{Total: -1}
	if f.WithTotal {
		total, estimated, err := s.countSubUsers(ctx, f, scopeArg, conds, args)
		if err != nil {
			return nil, dbError(err)
		}
		out.Total, out.TotalEstimated = total, estimated
	}
	if f.Status != "" && src == fromTotals {
		ids, err := s.rareStatusIDs(ctx, f)
		if err != nil {
			return nil, dbError(err)
		}
		if ids != nil {
			where = append(where, src.id+" = ANY("+arg(ids)+")")
		}
	}
	dir, cmp := "ASC", ">"
	if f.Desc {
		dir, cmp = "DESC", "<"
	}
	if f.After != "" {
		c, err := storeutil.DecodeCursor(f.After, f)
		if err != nil {
			return nil, err
		}
		v, err := cursorValue(c)
		if err != nil {
			return nil, err
		}
		if f.Sort == subgate.SortID {
			where = append(where, fmt.Sprintf("s.id %s %s", cmp, arg(c.ID)))
		} else {
			where = append(where, fmt.Sprintf("(%s, %s) %s (%s, %s)", col, src.id, cmp, arg(v), arg(c.ID)))
		}
	}
	order := fmt.Sprintf("%s %s, %s %s", col, dir, src.id, dir)
	if f.Sort == subgate.SortID {
		order = "s.id " + dir
	}
	// The page is chosen on the keys alone, then read in full: rows an
	// OFFSET skips never get their balances read.
	page := `SELECT ` + src.id + ` AS id, ` + col + ` AS k FROM ` + src.from + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ` + arg(f.Limit+1)
	if f.After == "" && f.Offset > 0 {
		page += ` OFFSET ` + arg(f.Offset)
	}
	q := selectSubUsers + ` JOIN (` + page + `) p ON p.id = s.id ORDER BY p.k ` + dir + `, p.id ` + dir
	items, err := s.loadSubUsers(ctx, s.pool, q, args...)
	if err != nil {
		return nil, dbError(err)
	}
	if len(items) > f.Limit {
		items = items[:f.Limit]
		out.Next = cursorOf(items[len(items)-1], f)
	}
	out.Items = items
	return out, nil
}

// countSubUsers counts the live sub-users of the scope (its placeholder, or
// "" for all) that meet conds. The whole list is counted by create and
// delete already. Otherwise the count reads the sub-user rows alone
// (whatever the list order), from an index where it can; a caller content
// with an estimate gets one from a sample where the count would read every
// match (see storeutil.Sampler).
func (s *Store) countSubUsers(ctx context.Context, f subgate.SubUserFilter, scopeArg string, conds []string, args []any) (n int64, estimated bool, err error) {
	var rows int64
	err = s.pool.QueryRow(ctx, `SELECT coalesce(sum(n), 0)::bigint FROM live_counts WHERE $1 = 0 OR reseller_id = $1`,
		int64(f.Scope)).Scan(&rows)
	if err != nil || len(conds) == 0 {
		return rows, false, err
	}
	in, inArgs := "s.deleted_at IS NULL", []any{}
	if scopeArg != "" {
		in, inArgs = in+" AND s.reseller_id = "+scopeArg, args[:1] // the scope is the first argument
	}
	if f.EstimateTotal && !storeutil.DefaultSampler.Covers(rows) {
		n, err = s.estimateSubUsers(ctx, in, inArgs, conds, args, rows)
		return n, true, err
	}
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM subusers s WHERE `+in+` AND `+strings.Join(conds, " AND "), args...).Scan(&n)
	return n, false, err
}

// estimateSubUsers samples runs of the scope's live rows (in, over s, with
// inArgs) in id order and tests conds on them.
func (s *Store) estimateSubUsers(ctx context.Context, in string, inArgs []any, conds []string, args []any, rows int64) (int64, error) {
	var minID, maxID *int64
	err := s.pool.QueryRow(ctx, `SELECT (SELECT min(s.id) FROM subusers s WHERE `+in+`),
		(SELECT max(s.id) FROM subusers s WHERE `+in+`)`, inArgs...).Scan(&minID, &maxID)
	if err != nil || minID == nil {
		return 0, err
	}
	from, limit := fmt.Sprintf("$%d", len(args)+1), fmt.Sprintf("$%d", len(args)+2)
	query := `SELECT count(*), count(*) FILTER (WHERE hit), coalesce(max(id), 0) FROM (SELECT s.id, (` +
		strings.Join(conds, " AND ") + `) AS hit FROM subusers s WHERE ` + in + ` AND s.id >= ` + from +
		` ORDER BY s.id LIMIT ` + limit + `) w`
	return storeutil.DefaultSampler.Estimate(rows, *minID, *maxID, func(from int64, limit int) (read, hits, last int64, err error) {
		err = s.pool.QueryRow(ctx, query, append(slices.Clone(args), from, limit)...).Scan(&read, &hits, &last)
		return read, hits, last, err
	})
}

// rareStatusRows bounds how many sub-users make a status rare.
const rareStatusRows = 2000

// rareStatusIDs returns the ids of f's status in its scope when there are
// at most rareStatusRows of them, else nil. The totals' sort indexes do not
// hold the status: walking one finds a page of a common status at once but
// must pass every row to learn that a rare one (the few blocked sub-users)
// has no more, while the status index lists a rare one's ids at once.
func (s *Store) rareStatusIDs(ctx context.Context, f subgate.SubUserFilter) ([]int64, error) {
	query, args := `SELECT s.id FROM subusers s WHERE s.deleted_at IS NULL AND s.status = $1`, []any{string(f.Status)}
	if f.Scope != 0 {
		query, args = query+` AND s.reseller_id = $2`, append(args, int64(f.Scope))
	}
	rows, err := s.pool.Query(ctx, query+fmt.Sprintf(` LIMIT %d`, rareStatusRows+1), args...)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) > rareStatusRows {
		return nil, err
	}
	return append(ids, 0)[:len(ids)], nil // never nil: no ids is a rare status too
}
