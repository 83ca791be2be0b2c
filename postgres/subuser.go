package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// selectSubUsers reads sub-user rows aliased s with their balances, in one
// round trip; IPsUsed counts the egress records of the stored day window.
// A WHERE clause on s follows.
const selectSubUsers = `SELECT ` + subUserColumns + ` FROM subusers s ` + subUserJoins

// selectSubUsersFrom reads, like selectSubUsers, the sub-user rows a
// statement of a WITH clause named src returns (RETURNING *).
func selectSubUsersFrom(src string) string {
	return `SELECT ` + subUserColumns + ` FROM ` + src + ` s ` + subUserJoins
}

const subUserColumns = `s.id, s.hash, s.reseller_id, s.username, s.password, s.name, s.note, s.email,
	s.dashboard_password_hash, s.private_pool, s.status, s.limit_daily, s.limit_monthly, s.limit_lifetime,
	s.limit_usage_cap, s.limit_ip_usage_cap, s.limit_max_concurrency, s.day_key, s.day_used, s.month_key,
	s.month_used, (SELECT count(*) FROM egress e WHERE e.subuser_id = s.id AND e.day_key = s.day_key),
	s.expires_at, s.allow_ips, s.created_at, s.updated_at, s.deleted_at, s.seq,
	coalesce(bal.products, '{}'), coalesce(bal.available, '{}'), coalesce(bal.used, '{}'), s.funding,
	coalesce(pl.products, '{}'), coalesce(pl.bytes, '{}')`

const subUserJoins = `LEFT JOIN LATERAL (
		SELECT array_agg(b.product ORDER BY b.product) AS products,
			array_agg(b.available ORDER BY b.product) AS available,
			array_agg(b.used ORDER BY b.product) AS used
		FROM balances b WHERE b.subuser_id = s.id) bal ON true
	LEFT JOIN LATERAL (
		SELECT array_agg(p.product) AS products, array_agg(p.bytes) AS bytes
		FROM pools p WHERE s.funding = 'shared' AND p.reseller_id = s.reseller_id) pl ON true`

// subUserRow is a scanned row before its password is opened.
type subUserRow struct {
	u      *subgate.SubUser
	sealed []byte
}

func scanSubUser(row pgx.Row) (subUserRow, error) {
	u := &subgate.SubUser{}
	var sealed []byte
	var status, funding string
	var ips, products, poolProducts []string
	var available, used, poolBytes []int64
	l, w := &u.Limits, &u.Usage
	err := row.Scan(&u.ID, &u.Hash, &u.ResellerID, &u.Username, &sealed, &u.Name, &u.Note, &u.Email,
		&u.DashboardPasswordHash, &u.PrivatePool, &status, &l.Daily, &l.Monthly, &l.Lifetime,
		&l.UsageCap, &l.IPUsageCap, &l.MaxConcurrency, &w.DayKey, &w.Day, &w.MonthKey,
		&w.Month, &w.IPsUsed, &u.ExpiresAt, &ips, &u.CreatedAt, &u.UpdatedAt, &u.DeletedAt, &u.Seq,
		&products, &available, &used, &funding, &poolProducts, &poolBytes)
	if err != nil {
		return subUserRow{}, err
	}
	u.Funding = subgate.Funding(funding)
	if u.Shared() {
		u.Pool = make(map[subgate.Product]int64, len(poolProducts))
		for i, p := range poolProducts {
			u.Pool[subgate.Product(p)] = poolBytes[i]
		}
	}
	if len(available) != len(products) || len(used) != len(products) {
		return subUserRow{}, fmt.Errorf("sub-user %d: balances changed while read", u.ID)
	}
	u.Traffic = make(map[subgate.Product]subgate.Traffic, len(products))
	for i, p := range products {
		u.Traffic[subgate.Product(p)] = subgate.Traffic{Available: available[i], Used: used[i]}
	}
	u.Status = subgate.Status(status)
	u.ExpiresAt, u.DeletedAt = utcPtr(u.ExpiresAt), utcPtr(u.DeletedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	for _, s := range ips {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return subUserRow{}, fmt.Errorf("sub-user %d: allow_ips: %w", u.ID, err)
		}
		u.AllowIPs = append(u.AllowIPs, p)
	}
	return subUserRow{u: u, sealed: sealed}, nil
}

// loadSubUsers reads the sub-users a query selects (selectSubUsers)
// with opened passwords, in the query's order.
func (s *Store) loadSubUsers(ctx context.Context, q querier, sql string, args ...any) ([]*subgate.SubUser, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return s.readSubUsers(rows)
}

// readSubUsers reads the sub-users of rows selected by selectSubUsers and
// closes them.
func (s *Store) readSubUsers(rows pgx.Rows) ([]*subgate.SubUser, error) {
	scanned, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (subUserRow, error) { return scanSubUser(row) })
	if err != nil {
		return nil, err
	}
	out := make([]*subgate.SubUser, len(scanned))
	for i, r := range scanned {
		pw, err := s.cipher.Open(r.sealed)
		if err != nil {
			return nil, fmt.Errorf("sub-user %d: open password: %w", r.u.ID, err)
		}
		r.u.Password = string(pw)
		out[i] = r.u
	}
	return out, nil
}

// loadOne reads one sub-user selected by where (on alias s) or ENOTFOUND.
func (s *Store) loadOne(ctx context.Context, q querier, where string, args ...any) (*subgate.SubUser, error) {
	us, err := s.loadSubUsers(ctx, q, selectSubUsers+` WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, subgate.NotFound("sub-user")
	}
	return us[0], nil
}

// inLockedTx runs fn in a transaction like inTx, on the live sub-user id of
// scope, locked for the rest of the transaction and read: BEGIN, the lock
// and the read go in one round trip. The read is a statement of its own: a
// locking statement that waited for another transaction sees that
// transaction's row but evaluates its subqueries (the balances) in the
// snapshot it started with.
func (s *Store) inLockedTx(ctx context.Context, scope subgate.Scope, id int64, fn func(tx pgx.Tx, u *subgate.SubUser) error) error {
	var err error
	for range maxTxAttempts {
		err = s.lockedTx(ctx, scope, id, fn)
		if !retryable(err) {
			break
		}
	}
	return dbError(err)
}

func (s *Store) lockedTx(ctx context.Context, scope subgate.Scope, id int64, fn func(tx pgx.Tx, u *subgate.SubUser) error) error {
	const where = `s.id = $1 AND s.deleted_at IS NULL AND ($2 = 0 OR s.reseller_id = $2)`
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	b.Queue(`SELECT s.id FROM subusers s WHERE `+where+` FOR UPDATE`, id, int64(scope))
	b.Queue(selectSubUsers+` WHERE `+where, id, int64(scope))
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	// Once committed, rolling back does nothing.
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	u, err := s.readLocked(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := fn(tx, u); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// readLocked reads the results of BEGIN, a sub-user's lock and its read.
func (s *Store) readLocked(br pgx.BatchResults) (*subgate.SubUser, error) {
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	var id int64
	if err := br.QueryRow().Scan(&id); errors.Is(err, pgx.ErrNoRows) {
		return nil, subgate.NotFound("sub-user")
	} else if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	us, err := s.readSubUsers(rows)
	if err != nil {
		return nil, err
	}
	if len(us) != 1 {
		return nil, fmt.Errorf("sub-user %d: locked but read %d rows", id, len(us))
	}
	return us[0], nil
}

// batchQuerier reads the next result of a batch as if it were a query.
type batchQuerier struct{ br pgx.BatchResults }

func (q batchQuerier) Query(context.Context, string, ...any) (pgx.Rows, error) { return q.br.Query() }

func (q batchQuerier) QueryRow(context.Context, string, ...any) pgx.Row { return q.br.QueryRow() }

// SubUser finds a live sub-user by numeric id or hash.
func (s *Store) SubUser(ctx context.Context, scope subgate.Scope, ref string) (*subgate.SubUser, error) {
	col, arg := "s.hash", any(ref)
	if id, ok := subgate.IsNumericRef(ref); ok {
		col, arg = "s.id", id
	}
	u, err := s.loadOne(ctx, s.pool, col+` = $1 AND s.deleted_at IS NULL AND ($2 = 0 OR s.reseller_id = $2)`, arg, int64(scope))
	return u, dbError(err)
}

// SubUserByUsername finds a live sub-user by its exact username.
func (s *Store) SubUserByUsername(ctx context.Context, username string) (*subgate.SubUser, error) {
	u, err := s.loadOne(ctx, s.pool, `lower(s.username) = lower($1) AND s.username = $1 AND s.deleted_at IS NULL`, username)
	return u, dbError(err)
}

// CreateSubUser inserts u and gives its initial traffic from the pool.
func (s *Store) CreateSubUser(ctx context.Context, u *subgate.SubUser, initial map[subgate.Product]int64, key string) error {
	sealed, err := s.cipher.Seal([]byte(u.Password))
	if err != nil {
		return fmt.Errorf("postgres: seal password: %w", err)
	}
	created := s.stamp()
	if u.Funding == "" {
		u.Funding = subgate.FundingAllocated
	}
	// The id is drawn first so that every statement of the create can name it.
	if err := s.pool.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('subusers', 'id'))`).Scan(&u.ID); err != nil {
		return dbError(err)
	}
	steps := createSteps(u, sealed, created, initial, key)
	var firstID int64
	switch {
	case key == "" && !givesAny(initial):
		// Nothing to check that would have to undo the create.
		err = s.inOneTrip(ctx, steps...)
	case key == "":
		// A pool may be short: the checks come before the COMMIT.
		err = s.inTxSteps(ctx, steps...)
	default:
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			first, err := claimKey(ctx, tx, ledgerKey{ResellerID: u.ResellerID, Key: key, Op: "create"})
			if err != nil {
				return err
			}
			if first != nil {
				firstID = first.SubUserID
				return nil
			}
			return runSteps(ctx, tx, steps...)
		})
	}
	if err != nil {
		u.ID = 0
		return insertError(err, u)
	}
	if firstID == 0 {
		s.announcer.announce(u.Seq)
	}
	if firstID != 0 {
		got, err := s.loadOne(ctx, s.pool, `s.id = $1`, firstID)
		if err != nil {
			return dbError(err)
		}
		*u = *got
		return nil
	}
	u.CreatedAt, u.UpdatedAt = created, created
	u.ExpiresAt = dbTimePtr(u.ExpiresAt)
	u.Usage, u.DeletedAt = subgate.WindowUsage{}, nil
	u.Traffic = map[subgate.Product]subgate.Traffic{}
	for p, b := range initial {
		u.Traffic[p] = subgate.Traffic{Available: b}
	}
	if len(u.AllowIPs) == 0 {
		u.AllowIPs = nil
	}
	if u.Shared() {
		r, err := s.Reseller(ctx, u.ResellerID)
		if err != nil {
			return err
		}
		u.Pool = r.Pools
	}
	return nil
}

// createSteps insert u, whose ID is drawn, with its counters, its
// balances and initial gives, and number the change. The shared rows are
// locked first, in the store's order (live count stripe, pools, change
// stripe); the row itself is inserted after the change stripe with its Seq,
// so a create writes one row version, not two. What follows locks nothing
// another transaction waits for: the new rows are seen by no one, and the
// key-share lock on the reseller row that the insert's foreign key takes
// conflicts with no lock the store takes. (A create of a username another
// create is inserting waits for that one, which waits for nothing of this.)
func createSteps(u *subgate.SubUser, sealed []byte, created time.Time, initial map[subgate.Product]int64, key string) []step {
	var total int64
	for _, b := range initial {
		total += b
	}
	products := sortedProducts(initial)
	steps := []step{countLive(u.ResellerID, u.ID, 1)}
	for _, p := range products {
		if b := initial[p]; b > 0 {
			steps = append(steps, movePool(u.ResellerID, p, -b))
		}
	}
	steps = append(steps, lockStripe(u.ID), insertSubUser(u, sealed, created),
		step{sql: `INSERT INTO totals (subuser_id, reseller_id, available) VALUES ($1, $2, $3)`, args: []any{u.ID, u.ResellerID, total}})
	if key != "" {
		steps = append(steps, step{sql: `UPDATE ledger_keys SET subuser_id = $3 WHERE reseller_id = $1 AND key = $2`,
			args: []any{u.ResellerID, key, u.ID}})
	}
	for _, p := range products {
		b := initial[p]
		steps = append(steps, step{sql: `INSERT INTO balances (subuser_id, product, available) VALUES ($1, $2, $3)`,
			args: []any{u.ID, string(p), b}})
		if b > 0 {
			steps = append(steps, addLedger(subgate.LedgerEntry{ResellerID: u.ResellerID,
				SubUserID: u.ID, Product: p, Kind: subgate.LedgerGive, Bytes: b, IdempotencyKey: key, CreatedAt: created}))
		}
	}
	return steps
}

// givesAny reports whether initial moves bytes from a pool, which may be
// short.
func givesAny(initial map[subgate.Product]int64) bool {
	for _, b := range initial {
		if b > 0 {
			return true
		}
	}
	return false
}

// insertSubUser inserts u, drawing its Seq: its change stripe must be
// locked by an earlier statement (lockStripe).
func insertSubUser(u *subgate.SubUser, sealed []byte, created time.Time) step {
	l := u.Limits
	return step{sql: `INSERT INTO subusers (id, hash, reseller_id, username, password, name, note, email,
			dashboard_password_hash, private_pool, status, limit_daily, limit_monthly, limit_lifetime,
			limit_usage_cap, limit_ip_usage_cap, limit_max_concurrency, expires_at, allow_ips,
			created_at, updated_at, funding, seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, $21,
			nextval('subuser_seq'))
		RETURNING seq`,
		args: []any{u.ID, u.Hash, u.ResellerID, u.Username, sealed, u.Name, u.Note, u.Email, u.DashboardPasswordHash, u.PrivatePool,
			string(u.Status), l.Daily, l.Monthly, l.Lifetime, l.UsageCap, l.IPUsageCap, l.MaxConcurrency,
			dbTimePtr(u.ExpiresAt), prefixStrings(u.AllowIPs), created, string(u.Funding)}, scan: []any{&u.Seq}}
}

// insertError names what an insert of u broke.
func insertError(err error, u *subgate.SubUser) error {
	switch {
	case uniqueViolation(err, "subusers_username_live"):
		return subgate.Errorf(subgate.ECONFLICT, "username %s is taken", u.Username)
	case uniqueViolation(err, "subusers_hash_key"):
		return subgate.Errorf(subgate.ECONFLICT, "hash %s is taken", u.Hash)
	case isForeignKeyViolation(err):
		return subgate.NotFound("reseller")
	}
	return err
}

// liveCountStripes is the number of counter rows a reseller's live
// sub-users are counted in (by sub-user id).
const liveCountStripes = 16

// countLive adjusts a reseller's count of live sub-users by one sub-user's
// create or delete, in that sub-user's counter stripe.
func countLive(resellerID, subUserID, delta int64) step {
	return step{sql: `INSERT INTO live_counts (reseller_id, stripe, n) VALUES ($1, $2, $3)
		ON CONFLICT (reseller_id, stripe) DO UPDATE SET n = live_counts.n + excluded.n`,
		args: []any{resellerID, subUserID % liveCountStripes, delta}}
}

func isForeignKeyViolation(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23503"
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// UpdateSubUser applies the set fields of upd to a live sub-user of scope.
func (s *Store) UpdateSubUser(ctx context.Context, scope subgate.Scope, id int64, upd subgate.SubUserUpdate, at time.Time) (*subgate.SubUser, error) {
	sets, args, err := s.updateSets(upd)
	if err != nil {
		return nil, err
	}
	if upd.AllowIPsWas == nil && upd.Funding == nil {
		return s.updateInOneTrip(ctx, scope, id, upd, sets, args, at)
	}
	var out *subgate.SubUser
	err = s.inLockedTx(ctx, scope, id, func(tx pgx.Tx, u *subgate.SubUser) error {
		var err error
		if err := subgate.CheckAllowIPsWas(u, upd); err != nil {
			return err
		}
		args := append(args, dbTime(at), id)
		sets := append(sets, fmt.Sprintf("updated_at = $%d", len(args)-1))
		steps := append(switchFunding(u, upd.Funding, dbTime(at)), step{sql: `UPDATE subusers SET ` + strings.Join(sets, ", ") +
			fmt.Sprintf(` WHERE id = $%d`, len(args)), args: args})
		var seq int64
		err = runSteps(ctx, tx, append(steps, seqSteps(id, &seq)...)...)
		if uniqueViolation(err, "subusers_username_live") {
			return subgate.Errorf(subgate.ECONFLICT, "username %s is taken", *upd.Username)
		}
		if err != nil {
			return err
		}
		out, err = s.loadOne(ctx, tx, `s.id = $1`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.announcer.announce(out.Seq)
	return out, nil
}

// updateInOneTrip applies an update that needs nothing read first (no
// funding switch, no allow-list check) in one round trip (see inOneTrip):
// it locks the row, then its change stripe, then sets the fields and the
// new Seq in one row version and reads the row back. A sub-user not found
// leaves only its stripe's recorded value changed, which nothing reads
// once the stripe is unlocked.
func (s *Store) updateInOneTrip(ctx context.Context, scope subgate.Scope, id int64, upd subgate.SubUserUpdate,
	sets []string, args []any, at time.Time) (*subgate.SubUser, error) {
	live := func(scopeArg string) string {
		return ` AND deleted_at IS NULL AND (` + scopeArg + ` = 0 OR reseller_id = ` + scopeArg + `)`
	}
	args = append(args, dbTime(at), id, int64(scope))
	n := len(args)
	sets = append(sets, fmt.Sprintf("updated_at = $%d", n-2), `seq = nextval('subuser_seq')`)
	var found bool
	var out []*subgate.SubUser
	err := s.inOneTrip(ctx,
		step{sql: `SELECT id FROM subusers WHERE id = $1` + live("$2") + ` FOR UPDATE`,
			args: []any{id, int64(scope)}, rows: func(rows pgx.Rows) error {
				found = rows.Next()
				rows.Close()
				return rows.Err()
			}},
		lockStripe(id),
		step{sql: `WITH s AS (UPDATE subusers SET ` + strings.Join(sets, ", ") + fmt.Sprintf(` WHERE id = $%d`, n-1) +
			live(fmt.Sprintf("$%d", n)) + ` RETURNING *) ` + selectSubUsersFrom("s"),
			args: args, rows: func(rows pgx.Rows) (err error) {
				out, err = s.readSubUsers(rows)
				return err
			}})
	switch {
	case uniqueViolation(err, "subusers_username_live"):
		return nil, subgate.Errorf(subgate.ECONFLICT, "username %s is taken", *upd.Username)
	case err != nil:
		return nil, err
	case !found:
		return nil, subgate.NotFound("sub-user")
	case len(out) != 1:
		return nil, fmt.Errorf("postgres: sub-user %d: locked but updated %d rows", id, len(out))
	}
	s.announcer.announce(out[0].Seq)
	return out[0], nil
}

// updateSets turns the set fields of upd into SET clauses and arguments.
func (s *Store) updateSets(upd subgate.SubUserUpdate) ([]string, []any, error) {
	var sets []string
	var args []any
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if upd.Username != nil {
		set("username", *upd.Username)
	}
	if upd.Password != nil {
		sealed, err := s.cipher.Seal([]byte(*upd.Password))
		if err != nil {
			return nil, nil, fmt.Errorf("postgres: seal password: %w", err)
		}
		set("password", sealed)
	}
	if upd.Name != nil {
		set("name", *upd.Name)
	}
	if upd.Note != nil {
		set("note", *upd.Note)
	}
	if upd.Email != nil {
		set("email", *upd.Email)
	}
	if upd.DashboardPasswordHash != nil {
		set("dashboard_password_hash", *upd.DashboardPasswordHash)
	}
	if upd.PrivatePool != nil {
		set("private_pool", *upd.PrivatePool)
	}
	if upd.Status != nil {
		set("status", string(*upd.Status))
	}
	if l := upd.Limits; l != nil {
		set("limit_daily", l.Daily)
		set("limit_monthly", l.Monthly)
		set("limit_lifetime", l.Lifetime)
		set("limit_usage_cap", l.UsageCap)
		set("limit_ip_usage_cap", l.IPUsageCap)
		set("limit_max_concurrency", l.MaxConcurrency)
	}
	if upd.ExpiresAt != nil {
		set("expires_at", dbTimePtr(*upd.ExpiresAt))
	}
	if upd.AllowIPs != nil {
		set("allow_ips", prefixStrings(*upd.AllowIPs))
	}
	return sets, args, nil
}

// DeleteSubUser soft-deletes a sub-user and returns its unleased available
// bytes to the pool; leased bytes stay until flushed or released.
func (s *Store) DeleteSubUser(ctx context.Context, scope subgate.Scope, id int64, at time.Time) error {
	at = dbTime(at)
	var seq int64
	err := s.inLockedTx(ctx, scope, id, func(tx pgx.Tx, u *subgate.SubUser) error {
		leased, err := liveLeases(ctx, tx, id, at)
		if err != nil {
			return err
		}
		steps := []step{countLive(u.ResellerID, id, -1)}
		var returned int64
		for _, p := range sortedProducts(u.Traffic) {
			if back := u.Traffic[p].Available - leased[p]; back > 0 {
				steps = append(steps, returnToPool(u, p, back, at)...)
				returned += back
			}
		}
		steps = append(steps,
			step{sql: `UPDATE subusers SET deleted_at = $2, updated_at = $2 WHERE id = $1`, args: []any{id, at}},
			step{sql: `UPDATE totals SET live = false, available = available - $2 WHERE subuser_id = $1`, args: []any{id, returned}})
		return runSteps(ctx, tx, append(steps, seqSteps(id, &seq)...)...)
	})
	if err == nil {
		s.announcer.announce(seq)
	}
	return err
}

// returnToPool moves bytes from a sub-user's available balance to its pool
// with a ledger return; the caller adjusts the totals.
func returnToPool(u *subgate.SubUser, p subgate.Product, b int64, at time.Time) []step {
	return []step{
		{sql: `UPDATE balances SET available = available - $3 WHERE subuser_id = $1 AND product = $2`, args: []any{u.ID, string(p), b}},
		movePool(u.ResellerID, p, b),
		addLedger(subgate.LedgerEntry{ResellerID: u.ResellerID, SubUserID: u.ID, Product: p,
			Kind: subgate.LedgerReturn, Bytes: b, CreatedAt: at}),
	}
}

func sortedProducts[V any](m map[subgate.Product]V) []subgate.Product {
	ps := make([]subgate.Product, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}
