package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Parsing SQL costs more than running most of these statements, so fixed
// statements are prepared once per pool and reused. Statements whose text
// varies with their input (literal id lists) go through raw instead.

const maxCachedStatements = 256

type stmtCache struct {
	pool    *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool // seen inside transactions, to prepare afterwards
}

// lookup returns a cached statement without preparing one.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.m[query]
	if st == nil && len(c.m)+len(c.pending) < maxCachedStatements {
		c.pending[query] = true
	}
	return st
}

// preparePending prepares the statements transactions ran unprepared. It
// must run outside any transaction: with a single write connection,
// preparing on the pool inside one would wait for itself.
func (c *stmtCache) preparePending(ctx context.Context) {
	c.mu.Lock()
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	for _, q := range queries {
		c.prepared(ctx, q)
	}
}

// prepared returns the cached statement for query, preparing it on the pool
// if needed, or nil when the cache is full (the caller then runs the query
// unprepared). The lock is not held while preparing: preparing waits for a
// connection, which a transaction calling lookup may be holding.
func (c *stmtCache) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.m[query]
	full := len(c.m) >= maxCachedStatements
	c.mu.Unlock()
	if ok || full {
		return st, nil
	}
	st, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok || c.m == nil {
		st.Close() // prepared twice at once, or closed meanwhile
		return prev, nil
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}

// db is a connection pool whose queries use cached statements.
type db struct {
	*sql.DB
	cache *stmtCache
}

func newDB(pool *sql.DB) *db {
	return &db{DB: pool, cache: &stmtCache{pool: pool, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}}
}

func (d *db) Close() error { return errors.Join(d.cache.close(), d.DB.Close()) }

func (d *db) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, _ := d.cache.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return d.DB.ExecContext(ctx, query, args...)
}

func (d *db) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, _ := d.cache.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return d.DB.QueryContext(ctx, query, args...)
}

func (d *db) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, _ := d.cache.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.DB.QueryRowContext(ctx, query, args...)
}

// wtx is a transaction whose queries use the pool's cached statements; it
// never prepares on the pool itself (see preparePending).
type wtx struct {
	*sql.Tx
	cache *stmtCache
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.cache.lookup(query); st != nil {
		return t.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.cache.lookup(query); st != nil {
		return t.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.cache.lookup(query); st != nil {
		return t.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// raw bypasses the statement cache for a query whose text is one-off.
func raw(q querier) querier {
	switch v := q.(type) {
	case *db:
		return v.DB
	case *wtx:
		return v.Tx
	}
	return q
}
