package subgate

import (
	"context"
	"net/netip"
	"slices"
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
	u, err := s.SubUser(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	if slices.Contains(u.AllowIPs, prefix) {
		return nil, &Error{Code: ECONFLICT, Field: field, Message: field + " " + prefix.String() + " is already allowed"}
	}
	ips := append(slices.Clone(u.AllowIPs), prefix)
	if err := validatePrefixes(ips); err != nil {
		if e, ok := err.(*Error); ok && len(ips) <= 100 {
			return nil, Invalidf(field, "%s", e.Message[len(e.Field)+1:])
		}
		return nil, err
	}
	return s.UpdateSubUser(ctx, p, ref, SubUserUpdate{AllowIPs: &ips})
}

// RemoveAllowIP takes one entry off a sub-user's allow-list; an entry not
// there is not found.
func (s *Service) RemoveAllowIP(ctx context.Context, p Principal, ref string, prefix netip.Prefix) (*SubUser, error) {
	u, err := s.SubUser(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	i := slices.Index(u.AllowIPs, prefix)
	if i < 0 {
		return nil, NotFound("allow-list entry")
	}
	ips := slices.Delete(slices.Clone(u.AllowIPs), i, i+1)
	return s.UpdateSubUser(ctx, p, ref, SubUserUpdate{AllowIPs: &ips})
}
