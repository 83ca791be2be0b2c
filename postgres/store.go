// Package postgres implements subgate.Store on PostgreSQL with pgx. It is the
// store for several gateway nodes sharing one database: every read-then-write
// on a sub-user locks its row, pool changes are conditional updates, and
// sub-user changes are numbered so that readers of the change feed never
// miss one (see seqSteps) and announced with NOTIFY (see ListenChanges).
//
// Transactions take locks in one order, so they queue rather than deadlock:
// sub-user rows (several in ascending id), then an idempotency key, then the
// reseller's live count stripe, then pools (by product), then the change
// stripe, held to commit (a create inserts its new row after that, see
// createSteps). Rows a transaction reaches out of that order, without
// having locked them first (another sub-user's lease a flush renews, expired
// rows housekeeping deletes, a sub-user that became shared after a wake
// locked the others), are skipped when another transaction holds them
// (SKIP LOCKED), never waited for. The statements of a write are pipelined: a transfer or a lease
// costs a few round trips, and a flush the same handful for one sub-user or
// thousands.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

// Store is a subgate.Store on a PostgreSQL connection pool.
type Store struct {
	pool *pgxpool.Pool
	// session opens the connections that need a session of their own
	// (LISTEN), apart from the pool.
	session *pgx.ConnConfig
	cipher  subgate.Cipher
	// now is the clock for timestamps the store sets itself.
	now func() time.Time
	// housekeeping runs at most once a period of flush time.
	housekeeping storeutil.Throttle
	announcer    *announcer
}

var _ subgate.Store = (*Store)(nil)

// DefaultPoolSize is the pool size when neither Options.PoolSize nor the
// URL's pool_max_conns says otherwise: enough for a gateway node's metering
// flushes, lease requests and API writes, small enough that fifty nodes fit
// a server's connection limit (see README, "Many nodes on one PostgreSQL").
const DefaultPoolSize = 6

// Options tune how a store connects. The zero value is the defaults.
type Options struct {
	// PoolSize is the most pooled connections the store opens; 0 means the
	// URL's pool_max_conns, else DefaultPoolSize.
	PoolSize int
	// SessionURL is where connections needing a session of their own go
	// (LISTEN, and the lock migrations hold): the server itself when the
	// URL names a pooler in transaction mode. Empty means the URL.
	SessionURL string
}

// Open connects to url with the default Options; see OpenWith.
func Open(ctx context.Context, url string, cipher subgate.Cipher) (*Store, error) {
	return OpenWith(ctx, url, cipher, Options{})
}

// OpenWith connects to url, applies pending migrations and returns the
// store. Proxy passwords are sealed with cipher. Connection parameters such
// as search_path, pool_max_conns or default_query_exec_mode may be given in
// the URL. The pooled connections keep no session state between
// transactions, so url may name PgBouncer in transaction mode (with
// default_query_exec_mode=exec where it does not keep prepared statements).
func OpenWith(ctx context.Context, url string, cipher subgate.Cipher, o Options) (*Store, error) {
	if cipher == nil {
		return nil, errors.New("postgres: a cipher is required")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	switch {
	case o.PoolSize > 0:
		cfg.MaxConns = int32(o.PoolSize)
	case !strings.Contains(url, "pool_max_conns"):
		cfg.MaxConns = DefaultPoolSize
	}
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	session := cfg.ConnConfig
	if o.SessionURL != "" {
		if session, err = pgx.ParseConfig(o.SessionURL); err != nil {
			return nil, fmt.Errorf("postgres: session URL: %w", err)
		}
	}
	if err := migrate(ctx, session); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{pool: pool, session: session, cipher: cipher, now: time.Now, announcer: startAnnouncer(pool)}, nil
}

// Pool exposes the connection pool to other PostgreSQL-backed parts of a
// node (routing tables) so they share connections.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close stops announcing changes and closes the pool.
func (s *Store) Close() error {
	s.announcer.close()
	s.pool.Close()
	return nil
}

// stamp is the store's clock at the precision PostgreSQL keeps, so a value
// returned from a write equals the one read back later.
func (s *Store) stamp() time.Time { return dbTime(s.now()) }

// dbTime rounds a time to what a timestamptz column holds.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

// utcPtr normalises a time read from the database.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// maxTxAttempts bounds retries of a transaction PostgreSQL aborted to break a
// deadlock; lock order makes them rare, retrying makes them harmless.
const maxTxAttempts = 3

// inTx runs fn in a transaction and commits it when fn returns nil. Every
// transaction runs at READ COMMITTED whatever the database's default: they
// take row or advisory locks and then read, and must see what committed
// before they got the lock, where a snapshot taken at the first statement
// (REPEATABLE READ) would predate it.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.inTxWith(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
}

func (s *Store) inTxWith(ctx context.Context, opts pgx.TxOptions, fn func(tx pgx.Tx) error) error {
	var err error
	for range maxTxAttempts {
		err = pgx.BeginTxFunc(ctx, s.pool, opts, fn)
		if !retryable(err) {
			break
		}
	}
	return dbError(err)
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// dbError keeps domain errors and wraps anything else as an internal error.
func dbError(err error) error {
	var de *subgate.Error
	if err == nil || errors.As(err, &de) {
		return err
	}
	return fmt.Errorf("postgres: %w", err)
}

// uniqueViolation reports whether err broke the named unique index.
func uniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && (constraint == "" || pe.ConstraintName == constraint)
}

// changeStripes is the number of rows of change_stripes. Changes of
// sub-users in different stripes never wait for each other to be numbered.
const changeStripes = 128

// seqSteps give sub-user id a new change number, stored in *seq. The row
// must already be locked by the transaction, and nothing may be locked after
// these steps.
//
// Seq comes from subuser_seq without a global lock, so changes may commit
// out of Seq order; SubUsersChanged reads only below every Seq a change in
// flight can still commit with. To be seen in flight, a change first locks
// its stripe by updating it: until it ends, the row version other
// transactions see carries its xid (xmax) and the sequence's value from
// before it locked, which is below the Seq it draws next. The update is a
// statement of its own, before the draw, so no Seq is drawn that readers
// cannot see held.
func seqSteps(id int64, seq *int64) []step {
	return []step{lockStripe(id),
		{sql: `UPDATE subusers SET seq = nextval('subuser_seq') WHERE id = $1 RETURNING seq`, args: []any{id}, scan: []any{seq}}}
}

// lockStripe is the first of seqSteps: it locks change stripe id mod
// changeStripes (a sub-user's, or for a change of many sub-users any one).
// A statement after it may draw the Seq itself (nextval('subuser_seq')).
func lockStripe(id int64) step {
	return step{sql: `UPDATE change_stripes SET seq = (SELECT last_value FROM subuser_seq) WHERE stripe = $1`,
		args: []any{id % changeStripes}, check: oneRow("change stripe")}
}

// oneRow checks that a statement changed exactly one row.
func oneRow(what string) func(pgconn.CommandTag) error {
	return func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%s: %d rows changed, want 1", what, tag.RowsAffected())
		}
		return nil
	}
}

// step is one statement of a pipelined batch and what to do with its result.
type step struct {
	sql   string
	args  []any
	check func(pgconn.CommandTag) error // judges an Exec result
	scan  []any                         // receives the one row a statement returns
	rows  func(pgx.Rows) error          // reads the rows a statement returns, and closes them
}

// batchSender is a transaction or a connection to send a batch on.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// runSteps sends steps in one round trip and stops at the first error; the
// caller's transaction then rolls back whatever ran before it.
func runSteps(ctx context.Context, tx batchSender, steps ...step) error {
	b := &pgx.Batch{}
	queueSteps(b, steps)
	br := tx.SendBatch(ctx, b)
	if err := readSteps(br, steps); err != nil {
		br.Close()
		return err
	}
	return br.Close()
}

func queueSteps(b *pgx.Batch, steps []step) {
	for _, st := range steps {
		b.Queue(st.sql, st.args...)
	}
}

// readSteps reads the results of steps from br, stopping at the first error.
func readSteps(br pgx.BatchResults, steps []step) error {
	for _, st := range steps {
		var err error
		switch {
		case st.rows != nil:
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				err = st.rows(rows)
			}
		case st.scan != nil:
			err = br.QueryRow().Scan(st.scan...)
		default:
			var tag pgconn.CommandTag
			tag, err = br.Exec()
			if err == nil && st.check != nil {
				err = st.check(tag)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
