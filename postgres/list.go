package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

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
	where = append(where, src.live)
	if f.Scope != 0 {
		where = append(where, src.reseller+" = "+arg(int64(f.Scope)))
	}
	if f.Status != "" {
		where = append(where, "s.status = "+arg(string(f.Status)))
	}
	if f.Search != "" {
		where = append(where, searchCondition(f.Search, arg))
	}
	out := &subgate.SubUserPage{Total: -1}
	if f.WithTotal {
		total, err := s.countSubUsers(ctx, f, src, where, args)
		if err != nil {
			return nil, dbError(err)
		}
		out.Total = total
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

// countSubUsers counts the rows a list filter matches. A reseller's whole
// list is counted by create and delete already.
func (s *Store) countSubUsers(ctx context.Context, f subgate.SubUserFilter, src listSource, where []string, args []any) (int64, error) {
	var n int64
	if f.Scope != 0 && f.Search == "" && f.Status == "" {
		return s.CountSubUsers(ctx, int64(f.Scope))
	}
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+src.from+` WHERE `+strings.Join(where, " AND "), args...).Scan(&n)
	return n, err
}
