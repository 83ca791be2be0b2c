package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// changeChannel is the NOTIFY channel committed sub-user changes are
// announced on. Channels are shared by the whole database, so the payload
// names the schema before the Seq: installations in other schemas of the
// same database announce their own changes on it too.
const changeChannel = "subgate_subuser_changes"

// announcer sends the NOTIFY for the changes this store committed, outside
// their transactions: PostgreSQL queues notifications of committing
// transactions one at a time, through the commit's disk flush, so a NOTIFY
// in every change would number them one after another again. It sends one
// at a time, naming the highest Seq committed since the last, committed
// without waiting for the disk (a lost announcement is found by polling).
type announcer struct {
	highest atomic.Int64 // highest Seq committed and not announced yet
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
}

func startAnnouncer(pool *pgxpool.Pool) *announcer {
	a := &announcer{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go a.run(pool)
	return a
}

// announce notes a committed change; it never blocks.
func (a *announcer) announce(seq int64) {
	for cur := a.highest.Load(); seq > cur && !a.highest.CompareAndSwap(cur, seq); cur = a.highest.Load() {
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *announcer) run(pool *pgxpool.Pool) {
	defer close(a.done)
	for {
		select {
		case <-a.stop:
			return
		case <-a.wake:
		}
		seq := a.highest.Swap(0)
		if seq == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// An announcement that fails is not retried: nodes poll too.
		_, _ = pool.Exec(ctx, `SELECT set_config('synchronous_commit', 'off', true),
			pg_notify('`+changeChannel+`', current_schema() || ' ' || $1)`, strconv.FormatInt(seq, 10))
		cancel()
	}
}

// close stops announcing; changes not announced yet are found by polling.
// A second close waits for the first, so closing a store twice is harmless.
func (a *announcer) close() {
	a.closing.Do(func() { close(a.stop) })
	<-a.done
}

// ListenChanges calls notify with the Seq of every sub-user change committed
// by any node on this database, as it commits, until ctx ends or the
// connection fails (the error says which; callers listen again). Nodes use it
// to follow SubUsersChanged at once instead of waiting for their next poll;
// a notification lost while not listening is covered by that poll. It holds
// one connection of its own while it runs, outside the pool and opened with
// Options.SessionURL: LISTEN needs a session of its own, which a pooler in
// transaction mode does not give.
func (s *Store) ListenChanges(ctx context.Context, notify func(seq int64)) error {
	conn, err := pgx.ConnectConfig(ctx, s.session.Copy())
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck
	if _, err := conn.Exec(ctx, `LISTEN `+changeChannel); err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	// A probe sent on another connection proves the session hears what
	// others announce: through a pooler in transaction mode LISTEN is
	// accepted and nothing arrives. Its Seq, 0, is below every change, so
	// listeners only learn that the feed is live.
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, current_schema() || ' 0')`, changeChannel); err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	probe, cancel := context.WithTimeout(ctx, listenProbeWait)
	defer cancel()
	for waiting := probe; ; waiting = ctx {
		n, err := conn.WaitForNotification(waiting)
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil && waiting == probe && probe.Err() != nil:
			return fmt.Errorf("postgres: listen: no notification reached the session within %v: LISTEN needs a session of its own; "+
				"point the session URL (db_session_url) straight at PostgreSQL, not through a pooler in transaction mode", listenProbeWait)
		case err != nil:
			return fmt.Errorf("postgres: listen: %w", err)
		}
		if seq, ok := changeSeq(n.Payload, schema); ok {
			notify(seq)
		}
	}
}

// listenProbeWait bounds how long ListenChanges waits for its own probe
// notification before it reports that its session hears none.
const listenProbeWait = 5 * time.Second

// changeSeq reads the Seq of a change payload announced in schema; ok is
// false for another schema's changes.
func changeSeq(payload, schema string) (seq int64, ok bool) {
	i := strings.LastIndexByte(payload, ' ')
	if i < 0 || payload[:i] != schema {
		return 0, false
	}
	seq, err := strconv.ParseInt(payload[i+1:], 10, 64)
	return seq, err == nil
}
