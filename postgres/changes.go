package postgres

import (
	"context"
	"fmt"
	"strconv"
)

// changeChannel is the NOTIFY channel every committed sub-user change is
// announced on, with its Seq as payload.
const changeChannel = "subgate_subuser_changes"

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
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("postgres: listen: %w", err)
		}
		if seq, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			notify(seq)
		}
	}
}
