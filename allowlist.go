package subgate

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
)

// ParseAllowIP reads one allow-list entry: an IP address (a prefix of its
// full length) or a CIDR, masked to its network.
func ParseAllowIP(field, s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, Invalidf(field, "must be an IP address or CIDR")
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// AddAllowIP adds one entry to a sub-user's client IP allow-list; an entry
// already there is a conflict (field names it).
func (s *Service) AddAllowIP(ctx context.Context, p Principal, ref, field string, prefix netip.Prefix) (*SubUser, error) {
	return s.editAllowIPs(ctx, p, ref, func(cur []netip.Prefix) ([]netip.Prefix, error) {
		if slices.Contains(cur, prefix) {
			return nil, &Error{Code: ECONFLICT, Field: field, Message: field + " " + prefix.String() + " is already allowed"}
		}
		ips := append(slices.Clone(cur), prefix)
		if err := validatePrefixes(ips); err != nil {
			if e, ok := err.(*Error); ok && len(ips) <= 100 {
				return nil, Invalidf(field, "%s", strings.TrimPrefix(e.Message, e.Field+" "))
			}
			return nil, err
		}
		return ips, nil
	})
}

// RemoveAllowIP takes one entry off a sub-user's allow-list; an entry not
// there is not found.
func (s *Service) RemoveAllowIP(ctx context.Context, p Principal, ref string, prefix netip.Prefix) (*SubUser, error) {
	return s.editAllowIPs(ctx, p, ref, func(cur []netip.Prefix) ([]netip.Prefix, error) {
		i := slices.Index(cur, prefix)
		if i < 0 {
			return nil, NotFound("allow-list entry")
		}
		return slices.Delete(slices.Clone(cur), i, i+1), nil
	})
}

// allowIPsEditTries bounds how often an entry edit is redone when another
// edit of the same allow-list commits between its read and its write.
const allowIPsEditTries = 8

// editAllowIPs reads a sub-user's allow-list, applies edit and stores the
// result only while the list is still what edit saw, redoing it otherwise:
// two entries added at once both stay.
func (s *Service) editAllowIPs(ctx context.Context, p Principal, ref string, edit func([]netip.Prefix) ([]netip.Prefix, error)) (*SubUser, error) {
	for try := 1; ; try++ {
		u, err := s.SubUser(ctx, p, ref)
		if err != nil {
			return nil, err
		}
		ips, err := edit(u.AllowIPs)
		if err != nil {
			return nil, err
		}
		was := u.AllowIPs
		u, err = s.UpdateSubUser(ctx, p, ref, SubUserUpdate{AllowIPs: &ips, AllowIPsWas: &was})
		if !isAllowIPsChanged(err) || try == allowIPsEditTries {
			return u, err
		}
	}
}

// errAllowIPsChanged is the refusal of an update whose AllowIPsWas is stale.
const errAllowIPsChanged = "changed while this edit was made; try again"

// CheckAllowIPsWas refuses an update whose AllowIPsWas no longer matches the
// stored sub-user u; stores call it on the locked row.
func CheckAllowIPsWas(u *SubUser, upd SubUserUpdate) error {
	if upd.AllowIPsWas != nil && !slices.Equal(u.AllowIPs, *upd.AllowIPsWas) {
		return &Error{Code: ECONFLICT, Field: "allow_ips", Message: "allow_ips " + errAllowIPsChanged}
	}
	return nil
}

func isAllowIPsChanged(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ECONFLICT && e.Field == "allow_ips" && e.Message == "allow_ips "+errAllowIPsChanged
}
