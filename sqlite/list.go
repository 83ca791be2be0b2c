package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

// sortColumns maps list orders to columns; each but the limit and egress
// orders (9Proxy's, rarely used) has an index per reseller and one across
// resellers, both over live rows and ending in id. Usage has a pair more
// that lead with the status, for a status listed by usage, and its indexes
// carry the searched text after the id.
var sortColumns = map[subgate.SubUserSort]string{
	subgate.SortUsageCap:  "s.limit_usage_cap",
	subgate.SortIPCap:     "s.limit_ip_cap",
	subgate.SortIPUsed:    "(SELECT count(*) FROM egress e WHERE e.subuser_id = s.id AND e.day_key = s.day_key)",
	subgate.SortID:        "s.id",
	subgate.SortUsername:  "s.username",
	subgate.SortCreatedAt: "s.created_at",
	subgate.SortUsed:      "s.total_used",
	subgate.SortAvailable: "s.total_available",
	subgate.SortStatus:    "s.status",
}

// cursorOf is the cursor after u; created_at positions hold the column's
// Unix nanoseconds.
func cursorOf(u *subgate.SubUser, f subgate.SubUserFilter) storeutil.Cursor {
	c := storeutil.CursorAfter(u, f)
	if f.Sort == subgate.SortCreatedAt {
		c.N = u.CreatedAt.UnixNano()
	}
	return c
}

// cursorValue is the cursor's sort value as the column holds it.
func cursorValue(c storeutil.Cursor) any {
	if c.Sort == subgate.SortUsername || c.Sort == subgate.SortStatus {
		return c.T
	}
	return c.N
}

// listQuery collects the FROM and WHERE clauses of a list.
type listQuery struct {
	where []string
	args  []any
	// viaIndex drives the list from the trigram index in id order (joined
	// as f) instead of from a sort index.
	viaIndex bool
	// oneOff marks text that embeds literal ids, not worth a cached statement.
	oneOff bool
}

func (q *listQuery) db(s *Store) querier {
	if q.oneOff {
		return raw(s.read)
	}
	return s.read
}

func (q *listQuery) from() string {
	if q.viaIndex {
		return "subusers_fts f JOIN subusers s ON s.id = f.rowid"
	}
	return "subusers s"
}

func (q *listQuery) add(cond string, args ...any) {
	q.where = append(q.where, cond)
	q.args = append(q.args, args...)
}

// addIDs limits the list to rows fetched by id and then sorted: the way to
// list a few matches in any order.
func (q *listQuery) addIDs(ids []int64) {
	in := make([]string, len(ids))
	for i, id := range ids {
		in[i] = strconv.FormatInt(id, 10)
	}
	q.add("s.id IN (" + strings.Join(in, ",") + ")")
	q.oneOff = true
}

func (q *listQuery) sql() string { return strings.Join(q.where, " AND ") }

// clone is a copy that conditions added later do not reach.
func (q listQuery) clone() listQuery {
	q.where, q.args = slices.Clone(q.where), slices.Clone(q.args)
	return q
}

// SubUsers implements subgate.Store.
func (s *Store) SubUsers(ctx context.Context, f subgate.SubUserFilter) (*subgate.SubUserPage, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var q listQuery
	q.add("s.deleted_at IS NULL")
	if f.Scope != 0 {
		q.add("s.reseller_id = ?", int64(f.Scope))
	}
	if f.Status != "" {
		q.add("s.status = ?", string(f.Status))
	}
	search := strings.TrimSpace(f.Search)
	if search != "" {
		like := "%" + escapeLike(search) + "%"
		q.add(`(s.username LIKE ? ESCAPE '\' OR s.name LIKE ? ESCAPE '\' OR s.note LIKE ? ESCAPE '\')`, like, like, like)
	}
	filter := q.clone() // the conditions alone, before a search strategy joins in
	if search != "" {
		if err := s.addSearch(ctx, &q, search, f); err != nil {
			return nil, err
		}
	}
	if f.Status != "" && !q.oneOff && !statusIndexed(f.Sort) {
		if err := s.addRareStatus(ctx, &q, f); err != nil {
			return nil, err
		}
	}
	page := &subgate.SubUserPage{Total: -1}
	if f.WithTotal {
		n, estimated, err := s.count(ctx, q, filter, f, search)
		if err != nil {
			return nil, err
		}
		page.Total, page.TotalEstimated = n, estimated
	}
	items, err := s.pageOf(ctx, q, f)
	if err != nil {
		return nil, err
	}
	if len(items) > f.Limit {
		items = items[:f.Limit]
		page.Next = cursorOf(items[len(items)-1], f).Encode()
	}
	page.Items = items
	return page, nil
}

func (s *Store) pageOf(ctx context.Context, q listQuery, f subgate.SubUserFilter) ([]*subgate.SubUser, error) {
	col, dir, cmp := sortColumns[f.Sort], "ASC", ">"
	if f.Desc {
		dir, cmp = "DESC", "<"
	}
	offset := f.Offset
	if f.After != "" {
		c, err := storeutil.DecodeCursor(f.After, f)
		if err != nil {
			return nil, err
		}
		if q.viaIndex {
			q.add("f.rowid "+cmp+" ?", c.ID)
		} else if f.Sort == subgate.SortID {
			q.add("s.id "+cmp+" ?", c.ID)
		} else {
			q.add("("+col+", s.id) "+cmp+" (?, ?)", cursorValue(c), c.ID)
		}
		offset = 0
	}
	order := col + " " + dir
	if q.viaIndex {
		order = "f.rowid " + dir // the same order as s.id, in the index's own terms
	} else if f.Sort != subgate.SortID {
		order += ", s.id " + dir
	}
	args := append(q.args, f.Limit+1, offset)
	return s.querySubUsers(ctx, q.db(s), `SELECT `+subUserColumns+` FROM `+q.from()+` WHERE `+q.sql()+
		` ORDER BY `+order+` LIMIT ? OFFSET ?`, args...)
}

// count counts the rows q matches; filter is q's conditions without its
// search strategy. Where a count would read every match, a caller content
// with an estimate gets one from a sample of filter's rows (see Sampler).
func (s *Store) count(ctx context.Context, q, filter listQuery, f subgate.SubUserFilter, search string) (n int64, estimated bool, err error) {
	rows, err := s.liveSubUsers(ctx, f.Scope)
	if err != nil || search == "" && f.Status == "" {
		// Every live sub-user matches: the per-reseller counters answer at once.
		return rows, false, err
	}
	if f.EstimateTotal && !q.oneOff && !storeutil.DefaultSampler.Covers(rows) {
		n, err = s.estimate(ctx, filter, f.Scope, rows)
		return n, true, err
	}
	err = q.db(s).QueryRowContext(ctx, `SELECT count(*) FROM `+q.from()+` WHERE `+q.sql(), q.args...).Scan(&n)
	return n, false, err
}

// liveSubUsers is how many live sub-users a scope holds, from the
// per-reseller counters.
func (s *Store) liveSubUsers(ctx context.Context, scope subgate.Scope) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT coalesce(sum(live_subusers), 0) FROM resellers WHERE ?1 = 0 OR id = ?1`,
		int64(scope)).Scan(&n)
	return n, err
}

// estimate samples runs of the scope's live rows in id order (an index
// walk each) and tests filter's conditions on them.
func (s *Store) estimate(ctx context.Context, filter listQuery, scope subgate.Scope, rows int64) (int64, error) {
	in := "s.deleted_at IS NULL"
	var scopeArgs []any
	if scope != 0 {
		in, scopeArgs = in+" AND s.reseller_id = ?", []any{int64(scope)}
	}
	var minID, maxID sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT (SELECT min(s.id) FROM subusers s WHERE `+in+`),
		(SELECT max(s.id) FROM subusers s WHERE `+in+`)`, append(scopeArgs, scopeArgs...)...).Scan(&minID, &maxID)
	if err != nil || !minID.Valid {
		return 0, err
	}
	query := `SELECT count(*), coalesce(sum(hit), 0), coalesce(max(id), 0) FROM (SELECT s.id, (` + filter.sql() +
		`) AS hit FROM subusers s WHERE ` + in + ` AND s.id >= ? ORDER BY s.id LIMIT ?)`
	return storeutil.DefaultSampler.Estimate(rows, minID.Int64, maxID.Int64, func(from int64, limit int) (read, hits, last int64, err error) {
		args := append(slices.Clone(filter.args), scopeArgs...)
		err = s.read.QueryRowContext(ctx, query, append(args, from, limit)...).Scan(&read, &hits, &last)
		return read, hits, last, err
	})
}

// statusIndexed reports whether an index holds a status's rows in this
// order, so that a status filter walks only its own rows whatever its size.
func statusIndexed(sort subgate.SubUserSort) bool {
	return sort == subgate.SortID || sort == subgate.SortStatus || sort == subgate.SortUsed
}

// addRareStatus fetches a rare status's rows by id. A sort index walk
// finds a page of a common status at once, but must pass every row to learn
// that a rare one (say, the few blocked sub-users) has no more; the status
// index (reseller, status, id) holds its ids, counted without reading rows.
func (s *Store) addRareStatus(ctx context.Context, q *listQuery, f subgate.SubUserFilter) error {
	query, args := `SELECT s.id FROM subusers s WHERE s.deleted_at IS NULL AND s.status = ?`, []any{string(f.Status)}
	if f.Scope != 0 {
		query, args = query+` AND s.reseller_id = ?`, append(args, int64(f.Scope))
	}
	ids, err := s.queryIDs(ctx, query+` LIMIT ?`, append(args, s.rareMatches+1)...)
	if err != nil || len(ids) > s.rareMatches {
		return err
	}
	q.addIDs(ids)
	return nil
}

// defaultRareMatches bounds how many trigram-index hits make a rare search
// term: rare terms are fetched by id and sorted, which costs about one row
// read per hit, and counting up to this many hits stays cheap.
const defaultRareMatches = 2000

// defaultMatchSetRatio is how many index hits collecting a term's match
// set costs as much as a row that a sort index walk tests (a row read out
// of id order and three LIKEs); measured on a million sub-users.
const defaultMatchSetRatio = 2

// addSearch picks how to find the matches of the case-insensitive
// substring condition already in q. Terms of three characters or more can
// use the trigram index: a rare term is fetched by id; a common term listed
// in id order over a large scope is read in the index's own (id) order; a
// term of middling frequency is checked against the set of its index hits
// while walking the sort index (see matchSetPays), unless that index holds
// the searched text itself (usage). Everything else filters rows while
// walking the sort index, where a page fills quickly because matches are
// dense. The LIKE condition always applies, so every strategy returns
// exactly the same rows.
func (s *Store) addSearch(ctx context.Context, q *listQuery, term string, f subgate.SubUserFilter) error {
	if utf8.RuneCountInString(term) < 3 {
		return nil
	}
	ids, err := s.trigramIDs(ctx, term, s.rareMatches+1, "ASC")
	if err != nil {
		return err
	}
	if len(ids) <= s.rareMatches {
		q.addIDs(ids)
		return nil
	}
	if f.Sort == subgate.SortID {
		large, err := s.largeScope(ctx, f.Scope)
		if err != nil {
			return err
		}
		if large {
			q.viaIndex = true
			q.add("f.subusers_fts MATCH ?", ftsPhrase(term))
			return nil
		}
	}
	if f.Sort == subgate.SortUsed {
		// The usage indexes hold the searched text: the walk tests each
		// row there, no cheaper than checking it against a match set.
		return nil
	}
	pays, err := s.matchSetPays(ctx, term, ids, f)
	if err != nil || !pays {
		return err
	}
	// The unary plus keeps the set a filter: the sort index still drives
	// the walk, and the check needs only the id the index holds, so rows
	// are read only for hits.
	q.add("+s.id IN (SELECT rowid FROM subusers_fts WHERE subusers_fts MATCH ?)", ftsTrigramCover(term))
	return nil
}

// matchSetPays decides, from the first index hits of a term (ascending
// ids), whether collecting all its hits once costs less than testing the
// text of every row the sort index walk passes before the page is full.
// The hits' density over ids estimates both: the set holds about
// density × max id hits, and the walk passes about (offset + page) /
// density rows, at most the scope's live sub-users, each costing
// matchSetRatio times a collected hit. Before a set is collected, the last
// hits are sampled too and the higher density used, so a term common only
// among recent sub-users is not mistaken for a middling one.
func (s *Store) matchSetPays(ctx context.Context, term string, firstHits []int64, f subgate.SubUserFilter) (bool, error) {
	if s.matchSetRatio == 0 || len(firstHits) == 0 {
		return false, nil
	}
	var scopeRows, maxID int64
	err := s.read.QueryRowContext(ctx, `SELECT coalesce(sum(live_subusers), 0), (SELECT coalesce(max(id), 0) FROM subusers)
		FROM resellers WHERE ?1 = 0 OR id = ?1`, int64(f.Scope)).Scan(&scopeRows, &maxID)
	if err != nil {
		return false, err
	}
	reach := f.Limit + 1
	if f.After == "" {
		reach += f.Offset
	}
	pays := func(density float64) bool {
		setSize := density * float64(maxID)
		walked := min(float64(reach)/density, float64(scopeRows))
		return setSize <= walked*s.matchSetRatio
	}
	density := float64(len(firstHits)) / float64(firstHits[len(firstHits)-1])
	if !pays(density) {
		return false, nil
	}
	lastHits, err := s.trigramIDs(ctx, term, len(firstHits), "DESC")
	if err != nil || len(lastHits) == 0 {
		return false, err
	}
	lastDensity := float64(len(lastHits)) / float64(maxID-lastHits[len(lastHits)-1]+1)
	return pays(max(density, lastDensity)), nil
}

// largeScope reports whether a scope holds a large share of all live
// sub-users, so that walking a common term's index hits in id order finds
// the scope's rows quickly.
func (s *Store) largeScope(ctx context.Context, scope subgate.Scope) (bool, error) {
	if scope == 0 {
		return true, nil
	}
	var mine, all int64
	err := s.read.QueryRowContext(ctx, `SELECT coalesce(sum(CASE WHEN id = ? THEN live_subusers END), 0),
		coalesce(sum(live_subusers), 0) FROM resellers`, int64(scope)).Scan(&mine, &all)
	return mine*4 >= all, err
}

// ftsTrigramCover is a query for rows holding trigrams that cover term
// (every third one and the last), in any position: a superset of the
// phrase's rows that the index finds without comparing positions, which
// makes collecting a middling term's hits about twice as fast. The LIKE
// condition removes the rows that do not hold the whole term.
func ftsTrigramCover(term string) string {
	r := []rune(term)
	var parts []string
	for i := 0; i+3 <= len(r); i += 3 {
		parts = append(parts, ftsPhrase(string(r[i:i+3])))
	}
	if len(r)%3 != 0 {
		parts = append(parts, ftsPhrase(string(r[len(r)-3:])))
	}
	return strings.Join(parts, " ")
}

func ftsPhrase(term string) string { return `"` + strings.ReplaceAll(term, `"`, `""`) + `"` }

// trigramIDs returns up to limit ids of the term's index hits, in id order
// ("ASC" or "DESC").
func (s *Store) trigramIDs(ctx context.Context, term string, limit int, order string) ([]int64, error) {
	return s.queryIDs(ctx, `SELECT rowid FROM subusers_fts WHERE subusers_fts MATCH ? ORDER BY rowid `+order+` LIMIT ?`,
		ftsPhrase(term), limit)
}

// queryIDs returns the ids a query of one column selects.
func (s *Store) queryIDs(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
