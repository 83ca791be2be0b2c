package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// subUserColumns selects a sub-user row aliased s; IPsUsed counts the egress
// keys recorded for the row's stored day window.
const subUserColumns = `s.id, s.hash, s.reseller_id, s.username, s.password, s.name, s.note, s.email,
	s.dashboard_hash, s.private_pool, s.status, s.limit_daily, s.limit_monthly, s.limit_lifetime,
	s.limit_usage_cap, s.limit_ip_cap, s.limit_conc, s.day_key, s.day_used, s.month_key, s.month_used,
	s.expires_at, s.allow_ips, s.created_at, s.updated_at, s.deleted_at, s.seq,
	(SELECT count(*) FROM egress e WHERE e.subuser_id = s.id AND e.day_key = s.day_key), s.funding`

func (s *Store) scanSubUser(row interface{ Scan(...any) error }) (*subgate.SubUser, error) {
	var u subgate.SubUser
	var sealed []byte
	var status, allow, funding string
	var expires, deleted sql.NullInt64
	var created, updated int64
	l, w := &u.Limits, &u.Usage
	err := row.Scan(&u.ID, &u.Hash, &u.ResellerID, &u.Username, &sealed, &u.Name, &u.Note, &u.Email,
		&u.DashboardPasswordHash, &u.PrivatePool, &status, &l.Daily, &l.Monthly, &l.Lifetime,
		&l.UsageCap, &l.IPUsageCap, &l.MaxConcurrency, &w.DayKey, &w.Day, &w.MonthKey, &w.Month,
		&expires, &allow, &created, &updated, &deleted, &u.Seq, &w.IPsUsed, &funding)
	if err != nil {
		return nil, err
	}
	pw, err := s.cipher.Open(sealed)
	if err != nil {
		return nil, err
	}
	u.Password = string(pw)
	u.Status, u.Funding = subgate.Status(status), subgate.Funding(funding)
	u.ExpiresAt, u.DeletedAt = timePtr(expires), timePtr(deleted)
	u.CreatedAt, u.UpdatedAt = fromNano(created), fromNano(updated)
	u.AllowIPs = parsePrefixes(allow)
	u.Traffic = map[subgate.Product]subgate.Traffic{}
	return &u, nil
}

func formatPrefixes(ps []netip.Prefix) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func parsePrefixes(s string) []netip.Prefix {
	if s == "" {
		return nil
	}
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// querySubUsers runs a query selecting subUserColumns and fills balances.
func (s *Store) querySubUsers(ctx context.Context, q querier, query string, args ...any) ([]*subgate.SubUser, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var list []*subgate.SubUser
	for rows.Next() {
		u, err := s.scanSubUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := fillTraffic(ctx, q, list); err != nil {
		return nil, err
	}
	return list, fillPools(ctx, q, list)
}

// fillTraffic loads the balances of a few sub-users in one query.
func fillTraffic(ctx context.Context, q querier, list []*subgate.SubUser) error {
	if len(list) == 0 {
		return nil
	}
	if len(list) == 1 {
		// One sub-user (reads by id, creates, updates) is the common case:
		// a fixed statement is prepared once instead of parsed per call.
		u := list[0]
		rows, err := q.QueryContext(ctx, `SELECT product, available, used FROM balances WHERE subuser_id = ?`, u.ID)
		if err != nil {
			return err
		}
		return scanTraffic(rows, func(int64) *subgate.SubUser { return u }, false)
	}
	byID := make(map[int64]*subgate.SubUser, len(list))
	var in strings.Builder
	for i, u := range list {
		if i > 0 {
			in.WriteByte(',')
		}
		in.WriteString(strconv.FormatInt(u.ID, 10))
		byID[u.ID] = u
	}
	rows, err := raw(q).QueryContext(ctx, `SELECT subuser_id, product, available, used FROM balances WHERE subuser_id IN (`+in.String()+`)`)
	if err != nil {
		return err
	}
	return scanTraffic(rows, func(id int64) *subgate.SubUser { return byID[id] }, true)
}

// scanTraffic reads balance rows into their sub-users; withID says whether
// each row starts with the sub-user's id.
func scanTraffic(rows *sql.Rows, owner func(id int64) *subgate.SubUser, withID bool) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p string
		var t subgate.Traffic
		dest := []any{&p, &t.Available, &t.Used}
		if withID {
			dest = append([]any{&id}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		owner(id).Traffic[subgate.Product(p)] = t
	}
	return rows.Err()
}

// loadSubUser reads one sub-user, deleted or not, by id.
func (s *Store) loadSubUser(ctx context.Context, q querier, id int64) (*subgate.SubUser, error) {
	list, err := s.querySubUsers(ctx, q, `SELECT `+subUserColumns+` FROM subusers s WHERE s.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, subgate.NotFound("sub-user")
	}
	return list[0], nil
}

// liveSubUser reads a live sub-user by id within scope; anything else is ENOTFOUND.
func (s *Store) liveSubUser(ctx context.Context, q querier, scope subgate.Scope, id int64) (*subgate.SubUser, error) {
	u, err := s.loadSubUser(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if u.DeletedAt != nil || (scope != 0 && u.ResellerID != int64(scope)) {
		return nil, subgate.NotFound("sub-user")
	}
	return u, nil
}

// SubUser implements subgate.Store.
func (s *Store) SubUser(ctx context.Context, scope subgate.Scope, ref string) (*subgate.SubUser, error) {
	id, numeric := subgate.IsNumericRef(ref)
	if !numeric {
		err := s.read.QueryRowContext(ctx, `SELECT id FROM subusers WHERE hash = ?`, ref).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, subgate.NotFound("sub-user")
		}
		if err != nil {
			return nil, err
		}
	}
	return s.liveSubUser(ctx, s.read, scope, id)
}

// SubUserByUsername implements subgate.Store: an exact match among live rows.
func (s *Store) SubUserByUsername(ctx context.Context, username string) (*subgate.SubUser, error) {
	list, err := s.querySubUsers(ctx, s.read, `SELECT `+subUserColumns+` FROM subusers s
		WHERE s.username = ?1 COLLATE NOCASE AND s.username = ?1 AND s.deleted_at IS NULL`, username)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, subgate.NotFound("sub-user")
	}
	return list[0], nil
}

// nextSeq draws the next change sequence. Writes are serialised on one
// connection, so commit order and Seq order agree.
func nextSeq(ctx context.Context, tx *wtx) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM subusers`).Scan(&seq)
	return seq, err
}

func usernameTaken(ctx context.Context, tx *wtx, username string, except int64) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM subusers WHERE username = ? COLLATE NOCASE AND deleted_at IS NULL AND id <> ?`,
		username, except).Scan(&n)
	if err == nil && n > 0 {
		return subgate.Errorf(subgate.ECONFLICT, "username %s is taken", username)
	}
	return err
}

// CreateSubUser implements subgate.Store.
func (s *Store) CreateSubUser(ctx context.Context, u *subgate.SubUser, initial map[subgate.Product]int64, key string) error {
	return s.update(ctx, func(tx *wtx) error {
		if key != "" {
			prev, found, err := lookupKey(ctx, tx, u.ResellerID, key)
			if err != nil {
				return err
			}
			if found {
				if prev.op != opCreate {
					return subgate.Errorf(subgate.ECONFLICT, "idempotency key %q was already used for a different request", key)
				}
				first, err := s.loadSubUser(ctx, tx, prev.subUserID)
				if err == nil {
					*u = *first
				}
				return err
			}
		}
		if err := s.insertSubUser(ctx, tx, u, initialTotal(initial)); err != nil {
			return err
		}
		if err := s.giveInitial(ctx, tx, u, initial, key); err != nil {
			return err
		}
		if key != "" {
			if err := insertKey(ctx, tx, u.ResellerID, key, ledgerKey{op: opCreate, subUserID: u.ID}); err != nil {
				return err
			}
		}
		stored, err := s.loadSubUser(ctx, tx, u.ID)
		if err == nil {
			*u = *stored
		}
		return err
	})
}

// insertSubUser inserts the row with its initial total already counted (see
// giveInitial), so the total's index is written once.
func (s *Store) insertSubUser(ctx context.Context, tx *wtx, u *subgate.SubUser, initialTotal int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE resellers SET live_subusers = live_subusers + 1 WHERE id = ?`, u.ResellerID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return subgate.NotFound("reseller")
	}
	sealed, err := s.cipher.Seal([]byte(u.Password))
	if err != nil {
		return err
	}
	seq, err := nextSeq(ctx, tx)
	if err != nil {
		return err
	}
	if u.Hash == "" {
		u.Hash = subgate.NewHash()
	}
	if u.Status == "" {
		u.Status = subgate.StatusActive
	}
	if u.Funding == "" {
		u.Funding = subgate.FundingAllocated
	}
	now := unixNano(s.now())
	l := u.Limits
	res, err = tx.ExecContext(ctx, `INSERT INTO subusers (hash, reseller_id, username, password, name, note, email,
		dashboard_hash, private_pool, status, limit_daily, limit_monthly, limit_lifetime, limit_usage_cap,
		limit_ip_cap, limit_conc, expires_at, allow_ips, total_available, created_at, updated_at, seq, funding)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Hash, u.ResellerID, u.Username, sealed, u.Name, u.Note, u.Email, u.DashboardPasswordHash, u.PrivatePool,
		string(u.Status), l.Daily, l.Monthly, l.Lifetime, l.UsageCap, l.IPUsageCap, l.MaxConcurrency,
		nullTime(u.ExpiresAt), formatPrefixes(u.AllowIPs), initialTotal, now, now, seq, string(u.Funding))
	if isUnique(err) {
		// The unique username index decides; the pre-check only names the cause.
		if taken := usernameTaken(ctx, tx, u.Username, 0); taken != nil {
			return taken
		}
		return subgate.Errorf(subgate.ECONFLICT, "sub-user hash %s is taken", u.Hash)
	}
	if err != nil {
		return err
	}
	u.ID, err = res.LastInsertId()
	return err
}

func initialTotal(initial map[subgate.Product]int64) int64 {
	var n int64
	for _, b := range initial {
		n += max(b, 0)
	}
	return n
}

// giveInitial moves the initial traffic from the pool, in a stable order.
// The row's total was set on insert.
func (s *Store) giveInitial(ctx context.Context, tx *wtx, u *subgate.SubUser, initial map[subgate.Product]int64, key string) error {
	products := make([]subgate.Product, 0, len(initial))
	for p, b := range initial {
		if b > 0 {
			products = append(products, p)
		}
	}
	slices.Sort(products)
	for _, p := range products {
		if err := s.moveFromPool(ctx, tx, u.ResellerID, u.ID, p, initial[p], key); err != nil {
			return err
		}
	}
	return nil
}

// give moves b bytes from the pool to the sub-user's available balance.
func (s *Store) give(ctx context.Context, tx *wtx, resellerID, id int64, p subgate.Product, b int64, key string) error {
	if err := s.moveFromPool(ctx, tx, resellerID, id, p, b, key); err != nil {
		return err
	}
	return addTotalAvailable(ctx, tx, id, b)
}

// moveFromPool is a give without the row's total.
func (s *Store) moveFromPool(ctx context.Context, tx *wtx, resellerID, id int64, p subgate.Product, b int64, key string) error {
	if err := s.spendPool(ctx, tx, resellerID, p, b); err != nil {
		return err
	}
	if err := addBalance(ctx, tx, id, p, b); err != nil {
		return err
	}
	return s.addLedger(ctx, tx, ledgerRow{resellerID: resellerID, subUserID: id, product: p, kind: subgate.LedgerGive, bytes: b, key: key})
}

// addAvailable changes a balance's available bytes (delta may be negative)
// and the row's total with it.
func addAvailable(ctx context.Context, tx *wtx, id int64, p subgate.Product, delta int64) error {
	if err := addBalance(ctx, tx, id, p, delta); err != nil {
		return err
	}
	return addTotalAvailable(ctx, tx, id, delta)
}

func addBalance(ctx context.Context, tx *wtx, id int64, p subgate.Product, delta int64) error {
	// A negative delta only ever applies to an existing balance; an upsert
	// would check the inserted row's negative value first.
	query := `INSERT INTO balances (subuser_id, product, available) VALUES (?1, ?2, ?3)
		ON CONFLICT (subuser_id, product) DO UPDATE SET available = available + excluded.available`
	if delta < 0 {
		query = `UPDATE balances SET available = available + ?3 WHERE subuser_id = ?1 AND product = ?2`
	}
	_, err := tx.ExecContext(ctx, query, id, string(p), delta)
	return err
}

func addTotalAvailable(ctx context.Context, tx *wtx, id int64, delta int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE subusers SET total_available = total_available + ? WHERE id = ?`, delta, id)
	return err
}

// touch gives a changed row a new Seq and update time.
func touch(ctx context.Context, tx *wtx, id int64, at time.Time) error {
	seq, err := nextSeq(ctx, tx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE subusers SET seq = ?, updated_at = ? WHERE id = ?`, seq, unixNano(at), id)
	return err
}

// UpdateSubUser implements subgate.Store.
func (s *Store) UpdateSubUser(ctx context.Context, scope subgate.Scope, id int64, upd subgate.SubUserUpdate, at time.Time) (*subgate.SubUser, error) {
	var out *subgate.SubUser
	err := s.update(ctx, func(tx *wtx) error {
		u, err := s.liveSubUser(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if err := subgate.CheckAllowIPsWas(u, upd); err != nil {
			return err
		}
		if err := s.switchFunding(ctx, tx, u, upd.Funding); err != nil {
			return err
		}
		set, args, err := s.updateSet(ctx, tx, id, upd)
		if err != nil {
			return err
		}
		if len(set) > 0 {
			args = append(args, id)
			if _, err := tx.ExecContext(ctx, `UPDATE subusers SET `+strings.Join(set, ", ")+` WHERE id = ?`, args...); err != nil {
				if isUnique(err) {
					return subgate.Errorf(subgate.ECONFLICT, "username %s is taken", *upd.Username)
				}
				return err
			}
		}
		if err := touch(ctx, tx, id, at); err != nil {
			return err
		}
		out, err = s.loadSubUser(ctx, tx, id)
		return err
	})
	return out, err
}

func (s *Store) updateSet(ctx context.Context, tx *wtx, id int64, upd subgate.SubUserUpdate) ([]string, []any, error) {
	var set []string
	var args []any
	add := func(col string, v any) { set, args = append(set, col+" = ?"), append(args, v) }
	if upd.Username != nil {
		if err := usernameTaken(ctx, tx, *upd.Username, id); err != nil {
			return nil, nil, err
		}
		add("username", *upd.Username)
	}
	if upd.Password != nil {
		sealed, err := s.cipher.Seal([]byte(*upd.Password))
		if err != nil {
			return nil, nil, err
		}
		add("password", sealed)
	}
	if upd.Name != nil {
		add("name", *upd.Name)
	}
	if upd.Note != nil {
		add("note", *upd.Note)
	}
	if upd.Email != nil {
		add("email", *upd.Email)
	}
	if upd.DashboardPasswordHash != nil {
		add("dashboard_hash", *upd.DashboardPasswordHash)
	}
	if upd.PrivatePool != nil {
		add("private_pool", *upd.PrivatePool)
	}
	if upd.Status != nil {
		add("status", string(*upd.Status))
	}
	if l := upd.Limits; l != nil {
		add("limit_daily", l.Daily)
		add("limit_monthly", l.Monthly)
		add("limit_lifetime", l.Lifetime)
		add("limit_usage_cap", l.UsageCap)
		add("limit_ip_cap", l.IPUsageCap)
		add("limit_conc", l.MaxConcurrency)
	}
	if upd.ExpiresAt != nil {
		add("expires_at", nullTime(*upd.ExpiresAt))
	}
	if upd.AllowIPs != nil {
		add("allow_ips", formatPrefixes(*upd.AllowIPs))
	}
	return set, args, nil
}
