package subgate

import (
	"slices"
	"time"
)

// LedgerKind names a traffic movement.
type LedgerKind string

const (
	LedgerCredit    LedgerKind = "credit"     // admin → reseller pool
	LedgerDebit     LedgerKind = "debit"      // reseller pool → admin
	LedgerGive      LedgerKind = "give"       // pool → sub-user available
	LedgerTake      LedgerKind = "take"       // sub-user available → pool
	LedgerReturn    LedgerKind = "return"     // sub-user available → pool, on delete or lease release after delete
	LedgerUsage     LedgerKind = "usage"      // sub-user available → used; one entry per sub-user, product and hour
	LedgerOverdraft LedgerKind = "overdraft"  // usage past available (a lease lost while its node was cut off); not charged
	LedgerPoolUsage LedgerKind = "pool_usage" // pool → shared sub-user used; one entry per sub-user, product and hour
)

// LedgerKinds lists every kind, in the order movements happen.
var LedgerKinds = []LedgerKind{LedgerCredit, LedgerDebit, LedgerGive, LedgerTake, LedgerReturn, LedgerUsage, LedgerOverdraft, LedgerPoolUsage}

// LedgerEntry is one movement. Bytes is always positive; Kind gives the direction.
type LedgerEntry struct {
	ID             int64      `json:"id"`
	ResellerID     int64      `json:"reseller_id"`
	SubUserID      int64      `json:"subuser_id,omitempty"` // 0 for pool-only movements
	Product        Product    `json:"product"`
	Kind           LedgerKind `json:"kind"`
	Bytes          int64      `json:"bytes"`
	IdempotencyKey string     `json:"idempotency_key,omitempty"`
	CreatedAt      time.Time  `json:"created_at"` // for usage: the hour
}

// LedgerFilter selects ledger entries, newest first.
type LedgerFilter struct {
	Scope     Scope
	SubUserID int64      // 0 for all
	Kind      LedgerKind // "" for all
	Product   Product    // "" for all
	Before    int64      // entries with a smaller id (cursor); 0 for the newest
	Limit     int        // 1..1000, default 100
}

// Validate fills defaults and checks the kind and product.
func (f *LedgerFilter) Validate() error {
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return Invalidf("limit", "must be between 1 and 1000")
	}
	if f.Kind != "" && !slices.Contains(LedgerKinds, f.Kind) {
		return Invalidf("kind", "must be one of credit, debit, give, take, return, usage, overdraft, pool_usage")
	}
	if f.Product != "" {
		p, err := ParseProduct(string(f.Product))
		if err != nil {
			return err
		}
		f.Product = p
	}
	return nil
}

// Transfer moves traffic between a reseller pool and a sub-user. Positive
// Bytes give (pool → sub-user), negative take (sub-user → pool).
type Transfer struct {
	Scope          Scope
	SubUserID      int64
	Product        Product
	Bytes          int64
	IdempotencyKey string // a repeated key is applied once
}

// PoolCredit credits (positive) or debits (negative) a reseller pool.
type PoolCredit struct {
	ResellerID     int64
	Product        Product
	Bytes          int64
	IdempotencyKey string
}

// CheckTake refuses taking want bytes of product p from a balance holding
// available bytes, leased of them held by live leases. Both stores answer
// in these words.
func CheckTake(p Product, available, leased, want int64) error {
	if free := available - leased; want > free {
		return Errorf(EINSUFFICIENT, "sub-user has %d bytes of %s that can be taken (%d leased), %d asked", max(free, 0), p, leased, want)
	}
	return nil
}

// PoolShort refuses moving bytes out of a pool that holds fewer. Both
// stores answer in these words.
func PoolShort(p Product) *Error {
	return Errorf(EINSUFFICIENT, "not enough traffic in the %s pool", p)
}
