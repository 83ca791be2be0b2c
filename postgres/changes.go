package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// changeChannel is the NOTIFY channel every committed sub-user change is
// announced on. Channels are shared by the whole database, so the payload
// names the schema before the Seq: installations in other schemas of the
// same database announce their own changes on it too.
const (
	changeChannel = "subgate_subuser_changes"
	changePayload = `current_schema() || ' ' || currval('subuser_seq')::text`
)

// ListenChanges calls notify with the Seq of every sub-user change committed
// by any node on this database, as it commits, until ctx ends or the
// connection fails (the error says which; callers listen again). Nodes use it
// to follow SubUsersChanged at once instead of waiting for their next poll;
// a notification lost while not listening is covered by that poll. It holds
// one connection of its own while it runs.
func (s *Store) ListenChanges(ctx context.Context, notify func(seq int64)) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	// Taken out of the pool: a connection that was listening is handed to
	// no one else, and closing it ends the listening.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck
	if _, err := conn.Exec(ctx, `LISTEN `+changeChannel); err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("postgres: listen: %w", err)
		}
		if seq, ok := changeSeq(n.Payload, schema); ok {
			notify(seq)
		}
	}
}

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
