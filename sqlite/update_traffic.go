package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// opTarget is the idempotency use of a traffic target (see UpdateSubUserTraffic).
const opTarget = "target"

// UpdateSubUserTraffic implements subgate.SubUserTrafficStore: the field
// changes and the give or take are one write transaction, and the difference
// is computed from the balance read inside it.
func (s *Store) UpdateSubUserTraffic(ctx context.Context, scope subgate.Scope, id int64, upd subgate.SubUserUpdate, target subgate.TrafficTarget, key string, at time.Time) (*subgate.SubUser, error) {
	var out *subgate.SubUser
	err := s.update(ctx, func(tx *wtx) error {
		u, err := s.liveSubUser(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		replay, err := claimKey(ctx, tx, u.ResellerID, key,
			ledgerKey{op: opTarget, subUserID: u.ID, product: target.Product, bytes: target.Available})
		if err != nil {
			return err
		}
		if !replay {
			delta := target.Available - u.Traffic[target.Product].Available
			if err := subgate.ValidateFundingSwitch(u.Funding, upd.Funding, "traffic", delta != 0); err != nil {
				return err
			}
			if err := s.switchFunding(ctx, tx, u, upd.Funding); err != nil {
				return err
			}
			if err := s.applyFields(ctx, tx, id, upd); err != nil {
				return err
			}
			if u.Shared() && delta != 0 {
				return subgate.NoOwnBalance()
			}
			switch {
			case delta > 0:
				err = s.give(ctx, tx, u.ResellerID, u.ID, target.Product, delta, key)
			case delta < 0:
				err = s.take(ctx, tx, u, target.Product, -delta, key, s.now())
			}
			if err != nil {
				return err
			}
			if err := touch(ctx, tx, id, at); err != nil {
				return err
			}
		}
		out, err = s.loadSubUser(ctx, tx, id)
		return err
	})
	return out, err
}

// applyFields writes the set fields of upd (UpdateSubUser's SET).
func (s *Store) applyFields(ctx context.Context, tx *wtx, id int64, upd subgate.SubUserUpdate) error {
	set, args, err := s.updateSet(ctx, tx, id, upd)
	if err != nil || len(set) == 0 {
		return err
	}
	args = append(args, id)
	if _, err := tx.ExecContext(ctx, `UPDATE subusers SET `+strings.Join(set, ", ")+` WHERE id = ?`, args...); err != nil {
		if isUnique(err) {
			return subgate.Errorf(subgate.ECONFLICT, "username %s is taken", *upd.Username)
		}
		return err
	}
	return nil
}
