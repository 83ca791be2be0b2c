package subgate

import (
	"context"
	"fmt"
)

// MaxBulkSubUsers bounds the sub-users one bulk update names: one
// transaction holds all their row locks until it commits.
const MaxBulkSubUsers = 1000

// LimitsPatch sets the limits that are not nil and leaves the others, so
// raising one limit on many sub-users keeps each one's other limits.
type LimitsPatch struct {
	Daily          *int64 `json:"daily,omitempty"`
	Monthly        *int64 `json:"monthly,omitempty"`
	Lifetime       *int64 `json:"lifetime,omitempty"`
	UsageCap       *int64 `json:"usage_cap,omitempty"`
	IPUsageCap     *int64 `json:"ip_usage_cap,omitempty"`
	MaxConcurrency *int64 `json:"max_concurrency,omitempty"`
}

// Apply returns cur with the set limits replaced.
func (p LimitsPatch) Apply(cur Limits) Limits {
	set := func(dst, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&cur.Daily, p.Daily)
	set(&cur.Monthly, p.Monthly)
	set(&cur.Lifetime, p.Lifetime)
	set(&cur.UsageCap, p.UsageCap)
	set(&cur.IPUsageCap, p.IPUsageCap)
	set(&cur.MaxConcurrency, p.MaxConcurrency)
	return cur
}

// Validate checks the set limits as Limits.Validate does.
func (p LimitsPatch) Validate() error { return p.Apply(Limits{}).Validate() }

// SubUserBulkUpdate applies the same fields to many sub-users at once
// (disable an end customer's sub-users, extend every expiry, raise a limit).
type SubUserBulkUpdate struct {
	// Refs name the sub-users: numeric ids or hashes, as a single update.
	Refs []string
	// Update holds the fields set on each. Only fields that need nothing
	// read first are accepted: status, name, note, private_pool, expires_at.
	Update SubUserUpdate
	// Limits are set on each, leaving the limits not given.
	Limits *LimitsPatch
}

// Validate checks the refs and the fields with the single update's rules,
// and refuses the fields a bulk update cannot apply: each of those needs
// a read and a check of its own per sub-user, or must differ per sub-user.
func (b *SubUserBulkUpdate) Validate() error {
	if len(b.Refs) == 0 || len(b.Refs) > MaxBulkSubUsers {
		return Invalidf("subusers", "must name 1 to %d sub-users", MaxBulkSubUsers)
	}
	for _, ref := range b.Refs {
		if ref == "" {
			return Invalidf("subusers", "must not hold an empty reference")
		}
	}
	u := &b.Update
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"username", u.Username != nil}, {"password", u.Password != nil}, {"email", u.Email != nil},
		{"dashboard_password", u.DashboardPassword != nil || u.DashboardPasswordHash != nil},
		{"funding", u.Funding != nil}, {"allow_ips", u.AllowIPs != nil || u.AllowIPsWas != nil},
		{"limits", u.Limits != nil},
	} {
		if f.set {
			return Invalidf(f.name, "cannot be changed in a bulk update; change it one sub-user at a time")
		}
	}
	if err := u.Validate(); err != nil {
		return err
	}
	if b.Limits != nil {
		if err := b.Limits.Validate(); err != nil {
			return err
		}
	}
	if *u == (SubUserUpdate{}) && b.Limits == nil {
		return Invalidf("subusers", "update sets no field: give status, limits, expires_at, name, note or private_pool")
	}
	return nil
}

// UpdateSubUsers applies one update to many sub-users of the caller in one
// transaction: all of them change, or none when any ref names no sub-user of
// the caller (ENOTFOUND, as for a single update) or any change breaks a rule.
// Each gets its own change number, so gateways apply it like any change. It
// returns the sub-users as updated, by id.
func (s *Service) UpdateSubUsers(ctx context.Context, p Principal, b SubUserBulkUpdate) ([]*SubUser, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := statusChange(p, &SubUser{}, &SubUserUpdate{Status: b.Update.Status}); err != nil {
		return nil, err
	}
	// The status rules depend on each sub-user's current status, so the
	// store calls back with each one as locked.
	check := func(u *SubUser) error {
		if err := statusChange(p, u, &SubUserUpdate{Status: b.Update.Status}); err != nil {
			return bulkRefusal(u, err)
		}
		return nil
	}
	us, err := s.Store.UpdateSubUsers(ctx, scope(p), b, check, s.Now())
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		s.current(u)
		s.changed(u.ID)
	}
	return us, nil
}

// bulkRefusal is the error for a sub-user a bulk update's check refused:
// it names the sub-user, the caller's own, by id and username, as lists
// show it.
func bulkRefusal(u *SubUser, err error) error {
	if e, ok := err.(*Error); ok {
		return &Error{Code: e.Code, Field: e.Field, Message: fmt.Sprintf("sub-user %d (%s): %s", u.ID, u.Username, e.Message)}
	}
	return err
}

// BulkNotFound is the error for a ref of a bulk update that names no live
// sub-user of the caller. It names the caller's own ref and says the same
// whether the sub-user is unknown, deleted or another reseller's.
func BulkNotFound(ref string) *Error {
	return &Error{Code: ENOTFOUND, Message: "sub-user " + ref + " not found"}
}
