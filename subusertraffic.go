package subgate

import (
	"context"
	"time"
)

// TrafficTarget asks that a sub-user's available bytes of Product become
// Available: the difference is given from the pool or taken back to it.
type TrafficTarget struct {
	Product   Product
	Available int64
}

// Validate checks the product and the byte count (field names the count).
func (t TrafficTarget) Validate(field string) error {
	if _, err := ParseProduct(string(t.Product)); err != nil {
		return err
	}
	if t.Available < 0 || t.Available > MaxBytes {
		return Invalidf(field, "must be between 0 and %d bytes", MaxBytes)
	}
	return nil
}

// SubUserTrafficStore changes a sub-user's fields and sets one product's
// traffic in one transaction; it is part of Store.
type SubUserTrafficStore interface {
	// UpdateSubUserTraffic applies upd to the live sub-user id of scope and
	// moves target.Available minus its current available bytes of
	// target.Product, with the rules of Transfer: a give needs the pool
	// (EINSUFFICIENT otherwise), a take may only take what no live lease
	// holds (EINSUFFICIENT otherwise), each writes a give or take ledger
	// entry carrying key. On any error nothing changes. A non-empty key is
	// claimed for this sub-user, product and target; a repeat changes
	// nothing and returns the sub-user as it is, a different use of the key
	// is ECONFLICT.
	UpdateSubUserTraffic(ctx context.Context, scope Scope, id int64, upd SubUserUpdate, target TrafficTarget, key string, at time.Time) (*SubUser, error)
}
