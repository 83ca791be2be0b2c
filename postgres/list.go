package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

// listSource is where a list order is read from: the sub-user rows, or the
// totals beside them for the used and available orders, each with indexes
// on (reseller, key, id) and (key, id) over live rows. status and search
// are the columns a statement tests, "" where the source lacks them.
type listSource struct {
	from, live, reseller, id string
	status, search           string
}

var (
	fromSubUsers = listSource{from: "subusers s", live: "s.deleted_at IS NULL", reseller: "s.reseller_id", id: "s.id", status: "s.status", search: "s.search"}
	fromTotals   = listSource{from: "totals t JOIN subusers s ON s.id = t.subuser_id", live: "t.live", reseller: "t.reseller_id", id: "t.subuser_id", status: "s.status", search: "s.search"}
	// totalsAlone serves the totals' orders when nothing is tested on the
	// sub-user row: the page is then chosen from the sort index alone. The
	// totals carry a copy of the status and search text, which the used
	// indexes include, so a walk in used order tests them in the index.
	totalsAlone = listSource{from: "totals t", live: "t.live", reseller: "t.reseller_id", id: "t.subuser_id", status: "t.status", search: "t.search"}
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
	// 9Proxy's orders, rarely used, walk the rows without an index.
	subgate.SortUsageCap: {"s.limit_usage_cap", fromSubUsers},
	subgate.SortIPCap:    {"s.limit_ip_usage_cap", fromSubUsers},
	subgate.SortIPUsed:   {"(SELECT count(*) FROM egress e WHERE e.subuser_id = s.id AND e.day_key = s.day_key)", fromSubUsers},
}

// cursorValue is the cursor's sort value as the column's Go type;
// created_at positions hold the time as RFC 3339 text.
func cursorValue(c storeutil.Cursor) (any, error) {
	switch c.Sort {
	case subgate.SortID:
		return c.ID, nil
	case subgate.SortUsed, subgate.SortAvailable, subgate.SortUsageCap, subgate.SortIPCap, subgate.SortIPUsed:
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
	p := arg(searchPattern(search))
	if longestWordRun(search) < minTrigramRun {
		return "(s.search || '') LIKE lower(" + p + ")"
	}
	return "s.search LIKE lower(" + p + ")"
}

// searchPattern is the LIKE pattern of a search of the search column.
func searchPattern(search string) string {
	return likePattern(strings.ReplaceAll(search, searchSeparator, ""))
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
	p := &listPlan{f: f, col: key.col, src: key.src, dir: "ASC", cmp: ">"}
	if f.Desc {
		p.dir, p.cmp = "DESC", "<"
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
		p.after = &pageKey{id: c.ID, k: v}
	}
	out := &subgate.SubUserPage{Total: -1}
	if f.WithTotal {
		total, estimated, err := s.countMatches(ctx, f)
		if err != nil {
			return nil, dbError(err)
		}
		out.Total, out.TotalEstimated = total, estimated
	}
	if f.Status != "" && p.src == fromTotals {
		ids, err := s.rareStatusIDs(ctx, f)
		if err != nil {
			return nil, dbError(err)
		}
		p.ids = ids
	}
	var items []*subgate.SubUser
	var err error
	if f.Search != "" && longestWordRun(f.Search) >= minTrigramRun && f.Offset == 0 {
		var keys []pageKey
		if keys, err = s.searchPage(ctx, p); err == nil {
			items, err = s.loadPage(ctx, keys)
		}
	} else {
		// One statement: the page on the keys, then its rows in full.
		var a listArgs
		q := p.pageSQL(&a, p.after, f.Limit+1, searchIndexed)
		items, err = s.loadSubUsers(ctx, s.pool, selectSubUsers+` JOIN (`+q+`) p(id, k) ON p.id = s.id ORDER BY p.k `+p.dir+`, p.id `+p.dir, a...)
	}
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

// countMatches counts what f lists (see countSubUsers).
func (s *Store) countMatches(ctx context.Context, f subgate.SubUserFilter) (int64, bool, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
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
	return s.countSubUsers(ctx, f, scopeArg, conds, args)
}

// pageKey is a listed row's place in its order: its id and sort value.
type pageKey struct {
	id int64
	k  any
}

// listPlan is what the statements of one list page are built from.
type listPlan struct {
	f        subgate.SubUserFilter
	col      string
	src      listSource
	dir, cmp string
	after    *pageKey
	ids      []int64 // when not nil, the only ids that may be listed
	// idsFrom, when not "", is an array expression of the only ids that
	// may be listed, in the statement's arguments.
	idsFrom string
}

// searchUse says how a statement tests the search.
type searchUse int

const (
	searchIndexed searchUse = iota // as a condition the trigram index serves
	searchHidden                   // as a condition hidden from the index, for a walk
	searchOmitted                  // not at all (tested elsewhere)
)

// listArgs numbers a statement's arguments.
type listArgs []any

func (a *listArgs) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// source is the list source a statement reads: the totals alone serve their
// orders unless the search is to be found by the trigram index on the
// sub-user rows.
func (p *listPlan) source(search searchUse) listSource {
	if p.src == fromTotals && (p.f.Search == "" || search != searchIndexed) {
		return totalsAlone
	}
	return p.src
}

// where is the statement's condition on src for p's scope, status, ids and
// search (as used), after the position after.
func (p *listPlan) where(a *listArgs, src listSource, search searchUse, after *pageKey) string {
	where := []string{src.live}
	if p.f.Scope != 0 {
		where = append(where, src.reseller+" = "+a.add(int64(p.f.Scope)))
	}
	if p.f.Status != "" {
		where = append(where, src.status+" = "+a.add(string(p.f.Status)))
	}
	if p.ids != nil {
		where = append(where, src.id+" = ANY("+a.add(p.ids)+")")
	}
	if p.idsFrom != "" {
		where = append(where, src.id+" = ANY("+p.idsFrom+")")
	}
	if p.f.Search != "" {
		switch search {
		case searchIndexed:
			where = append(where, searchCondition(p.f.Search, a.add)) // src holds the sub-user row
		case searchHidden:
			// coalesce also hides the LIKE from the planner's estimate of
			// how rare a substring is, which would otherwise expect to walk
			// most of the list and walk it in parallel, slow to start.
			where = append(where, "coalesce("+src.search+" LIKE lower("+a.add(searchPattern(p.f.Search))+"), false)")
		}
	}
	if after != nil {
		if p.f.Sort == subgate.SortID {
			where = append(where, fmt.Sprintf("%s %s %s", src.id, p.cmp, a.add(after.id)))
		} else {
			where = append(where, fmt.Sprintf("(%s, %s) %s (%s, %s)", p.col, src.id, p.cmp, a.add(after.k), a.add(after.id)))
		}
	}
	return strings.Join(where, " AND ")
}

// order is the ORDER BY of src in p's order.
func (p *listPlan) order(src listSource) string {
	if p.f.Sort == subgate.SortID {
		return src.id + " " + p.dir
	}
	return fmt.Sprintf("%s %s, %s %s", p.col, p.dir, src.id, p.dir)
}

// pageSQL selects the ids and sort values of up to limit rows after the
// position after (or at the filter's offset): the page is chosen on the
// keys alone, so rows an OFFSET skips never get their balances read. Limits
// are written into the statement: a cached plan made for an unknown limit
// assumes a large one and may read the whole list in parallel.
func (p *listPlan) pageSQL(a *listArgs, after *pageKey, limit int, search searchUse) string {
	src := p.source(search)
	q := `SELECT ` + src.id + `, ` + p.col + ` FROM ` + src.from + ` WHERE ` + p.where(a, src, search, after) +
		` ORDER BY ` + p.order(src) + ` LIMIT ` + strconv.Itoa(limit)
	if after == nil && p.f.Offset > 0 {
		q += ` OFFSET ` + strconv.Itoa(p.f.Offset)
	}
	return q
}

func (s *Store) queryKeys(ctx context.Context, q string, args ...any) ([]pageKey, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (pageKey, error) {
		var k pageKey
		err := row.Scan(&k.id, &k.k)
		return k, err
	})
}

// loadPage reads the sub-users of keys in their order.
func (s *Store) loadPage(ctx context.Context, keys []pageKey) ([]*subgate.SubUser, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	return s.loadSubUsers(ctx, s.pool, selectSubUsers+
		` JOIN unnest($1::bigint[]) WITH ORDINALITY p(id, n) ON p.id = s.id ORDER BY p.n`, ids)
}

// searchWindow is how many rows of the list order a search tests before it
// judges how common its matches are; searchIndexRows is how many matches
// the trigram index may find for the rest of the page to be chosen from
// them rather than by walking on in the list order.
var (
	searchWindow          = 1000
	searchIndexRows int64 = 3000
)

// coveredWalkGain is how much sooner a search walks on when the list
// order's index holds the status and search text (by id and by used): such
// a walk tests rows in the index at about a hundredth of the cost per row
// of a trigram match's heap reads, so at a million rows walking on stays
// cheaper down to some 750 matches rather than 3,000.
const coveredWalkGain = 4

// walkCovered says whether p's order walks an index that holds the status
// and search text.
func (p *listPlan) walkCovered() bool {
	return p.f.Sort == subgate.SortID || p.f.Sort == subgate.SortUsed
}

// searchPage chooses a page of a search with a trigram. Walking the list
// order finds a page of a common term at once but must pass some thousand
// rows per match of a rare one; the trigram index finds a rare term's
// matches at once but must read every match of a common one before it can
// order them. The planner cannot tell which from its estimate of a
// substring's frequency, so the page first walks searchWindow rows of the
// list order, testing the search on each, and then goes on by walking when
// the matches seen there foretell more than searchIndexRows in the scope,
// from the index when they do not (see likelyAtLeast).
func (s *Store) searchPage(ctx context.Context, p *listPlan) ([]pageKey, error) {
	want := p.f.Limit + 1
	var a listArgs
	src := p.source(searchHidden)
	hit := "coalesce(" + src.search + " LIKE lower(" + a.add(searchPattern(p.f.Search)) + "), false)"
	window := strconv.Itoa(searchWindow)
	rows := `(SELECT coalesce(sum(n), 0)::bigint FROM live_counts)`
	if p.f.Scope != 0 {
		rows = `(SELECT coalesce(sum(n), 0)::bigint FROM live_counts WHERE reseller_id = ` + a.add(int64(p.f.Scope)) + `)`
	}
	q := `SELECT id, k, hit, n = ` + window + `, ` + rows + ` FROM (SELECT id, k, hit, row_number() OVER () AS n FROM (SELECT ` +
		src.id + ` AS id, ` + p.col + ` AS k, ` + hit + ` AS hit FROM ` + src.from + ` WHERE ` +
		p.where(&a, src, searchOmitted, p.after) + ` ORDER BY ` + p.order(src) + ` LIMIT ` + window + `) w) x
		WHERE hit OR n = ` + window + ` LIMIT ` + strconv.Itoa(want+1)
	found, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, err
	}
	var keys []pageKey
	var end *pageKey // the window's last row, when the list goes on past it
	var k pageKey
	var isHit, isEnd bool
	var scopeRows int64
	_, err = pgx.ForEachRow(found, []any{&k.id, &k.k, &isHit, &isEnd, &scopeRows}, func() error {
		if isHit && len(keys) < want {
			keys = append(keys, k)
		}
		if isEnd {
			end = &pageKey{id: k.id, k: k.k}
		}
		return nil
	})
	if err != nil || len(keys) == want || end == nil {
		return keys, err
	}
	rest, err := s.searchRest(ctx, p, *end, want-len(keys), len(keys), scopeRows)
	return append(keys, rest...), err
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
// at most rareStatusRows of them, else nil. The totals' sort indexes are
// ordered by the sort key, not the status: walking one finds a page of a
// common status at once but must pass every row to learn that a rare one
// (the few blocked sub-users) has no more, while the status index lists a
// rare one's ids at once.
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

// searchRest chooses the next limit matches of p's search after the
// position end of a window in which seen rows matched, of rows in the scope.
func (s *Store) searchRest(ctx context.Context, p *listPlan, end pageKey, limit, seen int, rows int64) ([]pageKey, error) {
	var a listArgs
	indexRows := searchIndexRows
	if p.walkCovered() {
		indexRows /= coveredWalkGain
	}
	if likelyAtLeast(seen)*float64(rows)/float64(searchWindow) > float64(indexRows) {
		return s.queryKeys(ctx, p.pageSQL(&a, &end, limit, searchHidden), a...)
	}
	// The page among the matches the index finds, in list order. The
	// planner takes an array from a subquery for a few ids, so it reads the
	// order's key of each rather than walking the order.
	within := *p
	within.idsFrom = `ARRAY(SELECT s.id FROM subusers s WHERE ` + p.where(&a, fromSubUsers, searchIndexed, nil) + `)`
	within.ids, within.f.Status = nil, ""
	return s.queryKeys(ctx, within.pageSQL(&a, &end, limit, searchOmitted), a...)
}

// likelyAtLeast is what a window in which seen rows matched promises of
// windows to come: seen less one standard deviation (as counts of rare
// events, seen varies by about its square root), so a rare term that
// happened to cluster in the window is seldom walked on for thousands of
// rows, while a term a little too common for the index still is.
func likelyAtLeast(seen int) float64 {
	return max(0, float64(seen)-math.Sqrt(float64(seen)))
}
