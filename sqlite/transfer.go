package sqlite

import (
	"context"
	"time"

	"github.com/subgate/subgate"
)

// Transfer implements subgate.Store.
func (s *Store) Transfer(ctx context.Context, t subgate.Transfer) (*subgate.SubUser, error) {
	var out *subgate.SubUser
	err := s.update(ctx, func(tx *wtx) error {
		u, err := s.liveSubUser(ctx, tx, t.Scope, t.SubUserID)
		if err != nil {
			return err
		}
		replay, err := claimKey(ctx, tx, u.ResellerID, t.IdempotencyKey,
			ledgerKey{op: opTransfer, subUserID: u.ID, product: t.Product, bytes: t.Bytes})
		if err != nil {
			return err
		}
		if replay {
			out = u
			return nil
		}
		if u.Shared() {
			return subgate.NoOwnBalance()
		}
		now := s.now()
		switch {
		case t.Bytes > 0:
			err = s.give(ctx, tx, u.ResellerID, u.ID, t.Product, t.Bytes, t.IdempotencyKey)
		case t.Bytes < 0:
			err = s.take(ctx, tx, u, t.Product, -t.Bytes, t.IdempotencyKey, now)
		}
		if err != nil {
			return err
		}
		if err := touch(ctx, tx, u.ID, now); err != nil {
			return err
		}
		out, err = s.loadSubUser(ctx, tx, u.ID)
		return err
	})
	return out, err
}

// take moves b bytes from the sub-user back to the pool; leased bytes stay.
func (s *Store) take(ctx context.Context, tx *wtx, u *subgate.SubUser, p subgate.Product, b int64, key string, now time.Time) error {
	leased, err := liveLeases(ctx, tx, u.ID, now)
	if err != nil {
		return err
	}
	if err := subgate.CheckTake(p, u.Traffic[p].Available, leased[p], b); err != nil {
		return err
	}
	if err := addAvailable(ctx, tx, u.ID, p, -b); err != nil {
		return err
	}
	if err := addToPool(ctx, tx, u.ResellerID, p, b); err != nil {
		return err
	}
	return s.addLedger(ctx, tx, ledgerRow{resellerID: u.ResellerID, subUserID: u.ID, product: p, kind: subgate.LedgerTake, bytes: b, key: key})
}
