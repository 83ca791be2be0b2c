// Package sqlite stores the subgate domain in one SQLite file (pure Go
// driver). Writes go through a single connection in BEGIN IMMEDIATE
// transactions, so read-then-write transactions serialise, also across
// processes; reads use a pool of read-only connections that WAL lets run
// beside the writer.
//
// Lists walk one index per sort order (totals over products are kept on the
// sub-user row for that). Searches of three or more characters consult a
// trigram index first (see addSearch); shorter terms, and terms of middling
// frequency under a non-id sort on shallow pages, filter rows while walking
// the sort index, so their cost grows with the offset: cursor pages keep it
// flat. On deeper pages a middling term's index hits are collected once and
// the walk only checks ids against them, except by usage: those indexes
// carry the searched text, so their walk reads no rows to test it.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

// Store implements subgate.Store on SQLite.
type Store struct {
	write  *db // one connection: the only writer
	read   *db // read-only pool
	cipher subgate.Cipher
	now    func() time.Time

	rareMatches   int     // see addSearch
	matchSetRatio float64 // see matchSetPays; 0 never collects match sets
	// housekeeping runs at most once a period of flush time.
	housekeeping storeutil.Throttle
}

var _ subgate.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies any
// pending migrations. cipher seals proxy passwords at rest.
func Open(path string, cipher subgate.Cipher) (*Store, error) {
	if cipher == nil {
		return nil, errors.New("sqlite: a cipher is required")
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s := &Store{write: newDB(w), cipher: cipher, now: time.Now, rareMatches: defaultRareMatches,
		matchSetRatio: defaultMatchSetRatio}
	if err := migrate(context.Background(), w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, err
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	s.read = newDB(r)
	return s, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-32000)")
	q.Add("_pragma", "temp_store(MEMORY)") // statement journals and sorts stay off disk
	q.Add("_pragma", "wal_autocheckpoint(8000)")
	q.Add("_pragma", "mmap_size(1073741824)") // reads of a large file skip a syscall per page
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// update runs fn in one write transaction with cached statements,
// committing when it returns nil.
func (s *Store) update(ctx context.Context, fn func(tx *wtx) error) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error { return fn(&wtx{Tx: tx, cache: s.write.cache}) })
	s.write.cache.preparePending(ctx)
	return err
}

// inTx runs fn in one write transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isUnique reports a UNIQUE constraint violation.
func isUnique(err error) bool {
	var e *sqlite3.Error
	return errors.As(err, &e) && (e.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// Times are stored as Unix nanoseconds.
func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromNano(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNano(n.Int64)
	return &t
}

// isForeignKey reports a FOREIGN KEY constraint violation.
func isForeignKey(err error) bool {
	var e *sqlite3.Error
	return errors.As(err, &e) && e.Code() == sqlite3lib.SQLITE_CONSTRAINT_FOREIGNKEY
}
