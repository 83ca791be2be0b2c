package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

// UpdateSubUserTraffic implements subgate.SubUserTrafficStore: the field
// changes and the give or take are one transaction on the locked row, so the
// difference is computed from the balance as it is when applied.
func (s *Store) UpdateSubUserTraffic(ctx context.Context, scope subgate.Scope, id int64, upd subgate.SubUserUpdate, target subgate.TrafficTarget, key string, at time.Time) (*subgate.SubUser, error) {
	sets, args, err := s.updateSets(upd)
	if err != nil {
		return nil, err
	}
	now := s.stamp()
	var out *subgate.SubUser
	err = s.inLockedTx(ctx, scope, id, func(tx pgx.Tx, u *subgate.SubUser) error {
		first, err := claimKey(ctx, tx, ledgerKey{ResellerID: u.ResellerID, Key: key, Op: "target",
			SubUserID: u.ID, Product: target.Product, Bytes: target.Available})
		if err != nil {
			return err
		}
		if first == nil {
			if err := s.updateWithTraffic(ctx, tx, u, sets, args, upd.Funding, target, key, at, now); err != nil {
				if uniqueViolation(err, "subusers_username_live") {
					return subgate.Errorf(subgate.ECONFLICT, "username %s is taken", *upd.Username)
				}
				return err
			}
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

// updateWithTraffic runs the SET of the field changes, the give or take and
// the change sequence in one round trip.
func (s *Store) updateWithTraffic(ctx context.Context, tx pgx.Tx, u *subgate.SubUser, sets []string, args []any,
	funding *subgate.Funding, target subgate.TrafficTarget, key string, at, now time.Time) error {
	args = append(append([]any{}, args...), dbTime(at), u.ID)
	sets = append(append([]string{}, sets...), fmt.Sprintf("updated_at = $%d", len(args)-1))
	t := subgate.Transfer{SubUserID: u.ID, Product: target.Product,
		Bytes: target.Available - u.Traffic[target.Product].Available, IdempotencyKey: key}
	if err := subgate.ValidateFundingSwitch(u.Funding, funding, "traffic", t.Bytes != 0); err != nil {
		return err
	}
	if u.Shared() && t.Bytes != 0 {
		return subgate.NoOwnBalance()
	}
	steps := append(switchFunding(u, funding, now),
		step{sql: `UPDATE subusers SET ` + strings.Join(sets, ", ") + fmt.Sprintf(` WHERE id = $%d`, len(args)), args: args})
	switch {
	case t.Bytes > 0:
		steps = append(steps, give(u, t, now)...)
	case t.Bytes < 0:
		taken, err := take(ctx, tx, u, t, now)
		if err != nil {
			return err
		}
		steps = append(steps, taken...)
	}
	var seq int64
	return runSteps(ctx, tx, append(steps, seqSteps(u.ID, &seq)...)...)
}
