package subgate

// Funding says where a sub-user's traffic comes from.
type Funding string

const (
	// FundingAllocated sub-users are given traffic from the pool and use
	// their own balance (IPRoyal, NetNut).
	FundingAllocated Funding = "allocated"
	// FundingShared sub-users have no balance of their own: every byte is
	// charged straight to the reseller's pool of the product used, bounded
	// by the sub-user's limits (9Proxy, Webshare, Decodo).
	FundingShared Funding = "shared"
)

// ParseFunding validates a funding mode; "" is the default, allocated.
func ParseFunding(field, s string) (Funding, error) {
	switch Funding(s) {
	case "":
		return FundingAllocated, nil
	case FundingAllocated, FundingShared:
		return Funding(s), nil
	}
	return "", Invalidf(field, "must be allocated or shared")
}

// Shared reports whether the sub-user draws on its reseller's pool.
func (u *SubUser) Shared() bool { return u.Funding == FundingShared }

// source is what the balance p of u holds before leases: its own available
// bytes, or for a shared sub-user the reseller's pool of p.
func (u *SubUser) source(p Product) int64 {
	if u.Shared() {
		return u.Pool[p]
	}
	return u.Traffic[p].Available
}

// Remaining is what a sub-user may still use per product at this instant:
// the smallest of its balance (the pool for a shared sub-user) and every
// byte limit. w must be the window usage current now.
func (u *SubUser) Remaining(w WindowUsage) map[Product]int64 {
	out := make(map[Product]int64, len(Products))
	for _, p := range Products {
		out[p] = u.Budget(p, w)
	}
	return out
}

// NoOwnBalance refuses a give or take on a shared sub-user: it has no
// balance of its own, and both stores answer it in these words.
func NoOwnBalance() *Error {
	return Errorf(ECONFLICT, "sub-user is funded from the shared pool and has no balance of its own to give to or take from; switch its funding to allocated first")
}

// ValidateFundingSwitch refuses a change of funding mode combined with a
// traffic change in one request: what the traffic would apply to depends
// on the mode, so the request is ambiguous. field names the traffic field.
func ValidateFundingSwitch(cur Funding, upd *Funding, trafficField string, moves bool) error {
	if upd == nil || *upd == cur || !moves {
		return nil
	}
	return Invalidf(trafficField, "cannot change while funding switches from %s to %s; switch first, then move traffic", cur, *upd)
}

// FundingReturns lists what switching u to funding to moves back to the
// pool, per product: switching to shared returns every available byte (its
// live leases then hold bytes of the pool instead); switching to allocated
// moves nothing, the sub-user starts at zero. Both stores apply it in the
// transaction that switches.
func FundingReturns(u *SubUser, to Funding) map[Product]int64 {
	out := map[Product]int64{}
	if to != FundingShared || u.Shared() {
		return out
	}
	for p, t := range u.Traffic {
		if t.Available > 0 {
			out[p] = t.Available
		}
	}
	return out
}

// PoolOf is the reseller whose pool a lease of u draws on, 0 for u's own
// balance.
func PoolOf(u *SubUser) int64 {
	if u.Shared() {
		return u.ResellerID
	}
	return 0
}
