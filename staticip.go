package subgate

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// StaticIP is one dedicated egress IP of the operator's inventory (NetNut's
// allocateIps): an address the gateway host owns, or an upstream static proxy
// that stands for one. Allocated IPs belong to one sub-user exclusively.
type StaticIP struct {
	ID          int64      `json:"id"`
	Address     string     `json:"address,omitempty"`  // local IP the gateway connects from
	Upstream    string     `json:"upstream,omitempty"` // static proxy: [http://|socks5://]host:port:user:pass
	Country     string     `json:"country"`            // ISO 3166-1 alpha-2, lower case
	AccessPoint string     `json:"access_point"`       // operator-defined location label
	SubUserID   int64      `json:"subuser_id,omitempty"`
	AllocatedAt *time.Time `json:"allocated_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// PublicView is what a caller may see of an inventory entry. A static
// proxy's password is never shown: the admin sees the upstream with the
// password redacted; a reseller sees only its scheme and host:port, since the
// account behind it is the operator's.
func (ip *StaticIP) PublicView(admin bool) StaticIP {
	v := *ip
	switch {
	case v.Upstream == "":
	case admin:
		v.Upstream = RedactStaticUpstream(v.Upstream)
	default:
		v.Upstream = upstreamEndpoint(v.Upstream)
	}
	return v
}

// publicViews applies PublicView to a list.
func publicViews(ips []*StaticIP, admin bool) []*StaticIP {
	out := make([]*StaticIP, len(ips))
	for i, ip := range ips {
		v := ip.PublicView(admin)
		out[i] = &v
	}
	return out
}

// upstreamEndpoint reduces "[scheme://]host:port[:user:pass]" to
// "scheme://host:port" (http when no scheme is given); "" when unparsable.
func upstreamEndpoint(s string) string {
	scheme, rest := "http", s
	if sc, after, ok := strings.Cut(s, "://"); ok {
		scheme, rest = strings.ToLower(sc), after
	}
	host, rest, ok := cutHost(rest)
	port, _, _ := strings.Cut(rest, ":")
	if !ok || host == "" || port == "" {
		return ""
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Validate checks an inventory entry and normalises its country and access point.
func (ip *StaticIP) Validate(field string) error {
	ip.Country = strings.ToLower(strings.TrimSpace(ip.Country))
	ip.AccessPoint = strings.ToLower(strings.TrimSpace(ip.AccessPoint))
	switch {
	case (ip.Address == "") == (ip.Upstream == ""):
		return Invalidf(field, "needs exactly one of address or upstream")
	case ip.Address != "":
		a, err := netip.ParseAddr(ip.Address)
		if err != nil {
			return Invalidf(field+".address", "must be an IP address")
		}
		ip.Address = a.String()
	default:
		if err := validateStaticUpstream(ip.Upstream); err != nil {
			return Invalidf(field+".upstream", "%v", err)
		}
	}
	if err := validateCountry(field+".country", ip.Country); err != nil {
		return err
	}
	return validateAccessPoint(field+".access_point", ip.AccessPoint)
}

// validateStaticUpstream checks host:port:user:pass with an optional scheme.
func validateStaticUpstream(s string) error {
	rest := s
	if scheme, after, ok := strings.Cut(s, "://"); ok {
		if scheme != "http" && scheme != "socks5" {
			return errors.New("scheme must be http or socks5")
		}
		rest = after
	}
	if len(s) > 512 {
		return errors.New("must be at most 512 characters")
	}
	host, rest, ok := cutHost(rest)
	parts := strings.SplitN(rest, ":", 3)
	n, err := strconv.Atoi(parts[0])
	if !ok || host == "" || err != nil || n < 1 || n > 65535 || len(parts) == 2 {
		return errors.New("must be host:port:user:pass (or host:port)")
	}
	return nil
}

// cutHost splits a possibly bracketed IPv6 host from what follows its ':'.
func cutHost(s string) (host, rest string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || !strings.HasPrefix(s[end+1:], ":") {
			return "", "", false
		}
		return s[1:end], s[end+2:], net.ParseIP(s[1:end]) != nil
	}
	return strings.Cut(s, ":")
}

func validateCountry(field, cc string) error {
	if len(cc) != 2 || cc[0] < 'a' || cc[0] > 'z' || cc[1] < 'a' || cc[1] > 'z' {
		return Invalidf(field, "must be an ISO 3166-1 alpha-2 code such as us")
	}
	return nil
}

func validateAccessPoint(field, ap string) error {
	if len(ap) > 64 {
		return Invalidf(field, "must be at most 64 characters")
	}
	for _, r := range ap {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return Invalidf(field, "may contain letters, digits, '.', '_' and '-'")
		}
	}
	return nil
}

// StaticIPAllocation asks for Count free IPs of a country (and access point,
// when given) for one sub-user.
type StaticIPAllocation struct {
	Scope       Scope
	SubUserID   int64
	Country     string
	AccessPoint string // "" for any
	Count       int
	Now         time.Time
}

// MaxStaticIPsPerAllocation bounds one allocation.
const MaxStaticIPsPerAllocation = 1000

// Validate checks the request and normalises it.
func (a *StaticIPAllocation) Validate() error {
	a.Country = strings.ToLower(strings.TrimSpace(a.Country))
	a.AccessPoint = strings.ToLower(strings.TrimSpace(a.AccessPoint))
	if a.Count < 1 || a.Count > MaxStaticIPsPerAllocation {
		return Invalidf("ips", "must be between 1 and %d", MaxStaticIPsPerAllocation)
	}
	if err := validateCountry("country_code", a.Country); err != nil {
		return err
	}
	return validateAccessPoint("access_point", a.AccessPoint)
}

// StaticIPFilter selects inventory entries, by id.
type StaticIPFilter struct {
	Country     string // "" any
	AccessPoint string // "" any
	FreeOnly    bool
	// AllocatedOnly keeps only IPs allocated to a live sub-user (the
	// opposite of FreeOnly; setting both is invalid).
	AllocatedOnly bool
	SubUserID     int64 // only this sub-user's; 0 any
	After         int64 // ids above this (cursor)
	Limit         int   // 1..1000, default 100
}

// Validate fills defaults.
func (f *StaticIPFilter) Validate() error {
	f.Country = strings.ToLower(f.Country)
	f.AccessPoint = strings.ToLower(f.AccessPoint)
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return Invalidf("limit", "must be between 1 and 1000")
	}
	if f.FreeOnly && f.AllocatedOnly {
		return Invalidf("allocated", "cannot ask for free and allocated IPs at once")
	}
	return nil
}

// StaticIPStore keeps the static IP inventory and its allocations. Both
// stores implement it beside Store. An IP allocated to a sub-user that has
// since been deleted counts as free: deleting a sub-user frees its IPs.
type StaticIPStore interface {
	// AddStaticIPs inserts inventory entries, all or none; fills ID and
	// CreatedAt. An address or upstream already in the inventory is ECONFLICT.
	AddStaticIPs(ctx context.Context, ips []*StaticIP) error
	// StaticIPs lists inventory entries in id order.
	StaticIPs(ctx context.Context, f StaticIPFilter) ([]*StaticIP, error)
	// RemoveStaticIP deletes a free entry; an allocated one is ECONFLICT.
	RemoveStaticIP(ctx context.Context, id int64) error
	// AllocateStaticIPs gives Count free IPs matching the request to a live
	// sub-user of Scope in one transaction, lowest ids first. When fewer are
	// free it is EINSUFFICIENT and nothing is allocated; a sub-user of another
	// reseller or a deleted one is ENOTFOUND.
	AllocateStaticIPs(ctx context.Context, a StaticIPAllocation) ([]*StaticIP, error)
	// SubUserStaticIPs lists the IPs allocated to a sub-user (the router's query).
	SubUserStaticIPs(ctx context.Context, subUserID int64) ([]*StaticIP, error)
	// ReleaseStaticIPs frees the sub-user's IPs with the given ids (all of
	// them when ids is empty) and returns how many it freed. IPs not
	// allocated to that sub-user are left alone.
	ReleaseStaticIPs(ctx context.Context, scope Scope, subUserID int64, ids []int64) (int, error)
}

// StaticIPOnceStore is a StaticIPStore whose allocations carry an
// idempotency key (both stores implement it).
type StaticIPOnceStore interface {
	// AllocateStaticIPsOnce is AllocateStaticIPs recording key on the rows
	// it allocates ("" records none). When IPs still allocated to the
	// sub-user already carry a non-empty key, it allocates nothing and
	// returns those with replay true; ECONFLICT when they cannot answer the
	// request (see StaticIPAllocation.Replays).
	AllocateStaticIPsOnce(ctx context.Context, a StaticIPAllocation, key string) (ips []*StaticIP, replay bool, err error)
}

// Replays checks that ips, allocated earlier under the same idempotency
// key, answer a: same country and access point and no more IPs than asked
// (fewer when some were released since).
func (a *StaticIPAllocation) Replays(ips []*StaticIP) error {
	if len(ips) > a.Count {
		return Errorf(ECONFLICT, "idempotency key was already used for an allocation of %d IPs", len(ips))
	}
	for _, ip := range ips {
		if ip.Country != a.Country || (a.AccessPoint != "" && ip.AccessPoint != a.AccessPoint) {
			return Errorf(ECONFLICT, "idempotency key was already used for an allocation in %s", ip.Country)
		}
	}
	return nil
}

// staticIPs returns the store's static IP side, or an error saying there is none.
func (s *Service) staticIPs() (StaticIPStore, error) {
	st, ok := s.Store.(StaticIPStore)
	if !ok {
		return nil, Errorf(EINVALID, "static IPs are not supported by this store")
	}
	return st, nil
}

// AddStaticIPs adds entries to the inventory (admin only).
func (s *Service) AddStaticIPs(ctx context.Context, p Principal, ips []*StaticIP) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	st, err := s.staticIPs()
	if err != nil {
		return err
	}
	if len(ips) == 0 || len(ips) > MaxStaticIPsPerAllocation {
		return Invalidf("ips", "must list 1 to %d entries", MaxStaticIPsPerAllocation)
	}
	for i, ip := range ips {
		if err := ip.Validate("ips[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	return st.AddStaticIPs(ctx, ips)
}

// StaticIPs lists the inventory (admin only).
func (s *Service) StaticIPs(ctx context.Context, p Principal, f StaticIPFilter) ([]*StaticIP, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	st, err := s.staticIPs()
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	ips, err := st.StaticIPs(ctx, f)
	if err != nil {
		return nil, err
	}
	return publicViews(ips, p.Admin), nil
}

// RemoveStaticIP deletes a free inventory entry (admin only); an allocated
// one is ECONFLICT until released.
func (s *Service) RemoveStaticIP(ctx context.Context, p Principal, id int64) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	st, err := s.staticIPs()
	if err != nil {
		return err
	}
	return st.RemoveStaticIP(ctx, id)
}

// AllocateStaticIPs dedicates count IPs of a country (and access point) to a
// sub-user and gives it bandwidth bytes of the static product from the pool,
// both or neither: when the give fails the IPs are released again. A retry
// with the same key returns the IPs of the first allocation and gives
// nothing more.
func (s *Service) AllocateStaticIPs(ctx context.Context, p Principal, ref string, a StaticIPAllocation, bandwidth int64, key string) ([]*StaticIP, *SubUser, error) {
	st, err := s.staticIPs()
	if err != nil {
		return nil, nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, nil, err
	}
	if bandwidth < 0 || bandwidth > MaxBytes {
		return nil, nil, Invalidf("bandwidth", "must be between 0 and %d bytes", MaxBytes)
	}
	u, err := s.SubUser(ctx, p, ref)
	if err != nil {
		return nil, nil, err
	}
	a.Scope, a.SubUserID, a.Now = scope(p), u.ID, s.Now()
	var ips []*StaticIP
	var replay bool
	if once, ok := st.(StaticIPOnceStore); ok {
		ips, replay, err = once.AllocateStaticIPsOnce(ctx, a, key)
	} else {
		ips, err = st.AllocateStaticIPs(ctx, a)
	}
	if err != nil {
		return nil, nil, err
	}
	if bandwidth > 0 {
		u, err = s.Give(ctx, p, strconv.FormatInt(u.ID, 10), ProductStatic, bandwidth, key)
		if err != nil && replay {
			// The IPs are the first request's: a retry that fails leaves them.
			return nil, nil, err
		}
		if err != nil {
			ids := make([]int64, len(ips))
			for i, ip := range ips {
				ids[i] = ip.ID
			}
			if _, rerr := st.ReleaseStaticIPs(ctx, a.Scope, a.SubUserID, ids); rerr != nil {
				return nil, nil, rerr
			}
			return nil, nil, err
		}
	}
	s.changed(u.ID)
	return publicViews(ips, p.Admin), u, nil
}

// SubUserStaticIPs lists the IPs dedicated to one of the caller's sub-users.
func (s *Service) SubUserStaticIPs(ctx context.Context, p Principal, ref string) ([]*StaticIP, error) {
	st, err := s.staticIPs()
	if err != nil {
		return nil, err
	}
	u, err := s.SubUser(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	ips, err := st.SubUserStaticIPs(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return publicViews(ips, p.Admin), nil
}

// ReleaseStaticIPs frees a sub-user's IPs (all when ids is empty).
func (s *Service) ReleaseStaticIPs(ctx context.Context, p Principal, ref string, ids []int64) (int, error) {
	st, err := s.staticIPs()
	if err != nil {
		return 0, err
	}
	u, err := s.SubUser(ctx, p, ref)
	if err != nil {
		return 0, err
	}
	n, err := st.ReleaseStaticIPs(ctx, scope(p), u.ID, ids)
	if err == nil && n > 0 {
		s.changed(u.ID)
	}
	return n, err
}
