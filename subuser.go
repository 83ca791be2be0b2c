package subgate

import (
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Status is the administrative state of a sub-user.
type Status string

const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
	StatusBlocked  Status = "blocked" // set by the operator; resellers cannot change it
)

// ParseStatus validates a status value. Who may set blocked is the
// service's rule (the operator only), not the parser's.
func ParseStatus(field, s string) (Status, error) {
	switch Status(s) {
	case StatusActive, StatusDisabled, StatusBlocked:
		return Status(s), nil
	}
	return "", Invalidf(field, "must be active, disabled or blocked")
}

// Traffic is a sub-user's balance for one product.
type Traffic struct {
	Available int64 `json:"available"` // given and not yet used, bytes
	Used      int64 `json:"used"`      // consumed, bytes
}

// Limits restrict how much a sub-user may consume. A zero value means "no
// limit" for every field.
type Limits struct {
	Daily          int64 `json:"daily"`           // bytes per day window
	Monthly        int64 `json:"monthly"`         // bytes per month window
	Lifetime       int64 `json:"lifetime"`        // bytes ever
	UsageCap       int64 `json:"usage_cap"`       // bytes ever (9Proxy's name for a lifetime cap)
	IPUsageCap     int64 `json:"ip_usage_cap"`    // distinct egress IPs / sessions per day window
	MaxConcurrency int64 `json:"max_concurrency"` // open connections at once
}

// Validate rejects negative limits.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"limits.daily", l.Daily}, {"limits.monthly", l.Monthly}, {"limits.lifetime", l.Lifetime},
		{"limits.usage_cap", l.UsageCap}, {"limits.ip_usage_cap", l.IPUsageCap},
		{"limits.max_concurrency", l.MaxConcurrency},
	} {
		if f.v < 0 {
			return Invalidf(f.name, "must not be negative (0 means unlimited)")
		}
		if f.v > MaxBytes {
			return Invalidf(f.name, "is too large")
		}
	}
	return nil
}

// WindowUsage is consumption in the current limit windows, all products.
type WindowUsage struct {
	DayKey   int64 `json:"-"`
	Day      int64 `json:"day"`
	MonthKey int64 `json:"-"`
	Month    int64 `json:"month"`
	IPsUsed  int64 `json:"ip_used"`
}

// SubUser is a proxy credential carved out of a reseller's pools.
type SubUser struct {
	ID                    int64               `json:"id"`
	Hash                  string              `json:"hash"` // ULID, the public identifier
	ResellerID            int64               `json:"reseller_id"`
	Username              string              `json:"username"`
	Password              string              `json:"password"` // proxy password; encrypted at rest by the store
	Name                  string              `json:"name"`
	Note                  string              `json:"note"`
	Email                 string              `json:"email,omitempty"` // dashboard login
	DashboardPasswordHash string              `json:"-"`               // bcrypt
	PrivatePool           float64             `json:"private_pool"`    // NetNut snkrs_private_pool, opaque
	Status                Status              `json:"status"`
	Funding               Funding             `json:"funding"` // allocated or shared
	Traffic               map[Product]Traffic `json:"traffic"`
	// Pool is the reseller's pool per product as of the read, for shared
	// sub-users only: the balance they draw on.
	Pool      map[Product]int64 `json:"-"`
	Limits    Limits            `json:"limits"`
	Usage     WindowUsage       `json:"usage"` // current windows, as of the last flush
	ExpiresAt *time.Time        `json:"expires_at"`
	AllowIPs  []netip.Prefix    `json:"allow_ips"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	DeletedAt *time.Time        `json:"-"`
	Seq       int64             `json:"-"` // change sequence, for the gateway's cache
}

// TotalUsed sums used bytes over all products.
func (u *SubUser) TotalUsed() int64 {
	var n int64
	for _, t := range u.Traffic {
		n += t.Used
	}
	return n
}

// TotalAvailable sums available bytes over all products.
func (u *SubUser) TotalAvailable() int64 {
	var n int64
	for _, t := range u.Traffic {
		n += t.Available
	}
	return n
}

// Expired reports whether the sub-user is past its expiry at now.
func (u *SubUser) Expired(now time.Time) bool {
	return u.ExpiresAt != nil && !now.Before(*u.ExpiresAt)
}

// Budget returns how many more bytes the sub-user may consume on product at
// this instant according to its balance and every byte limit, given the
// current window usage w (whose keys must be those of now). Status, expiry and
// concurrency are gates, not budgets, and are not looked at here.
func (u *SubUser) Budget(p Product, w WindowUsage) int64 {
	b := u.source(p)
	if p != ProductAny {
		b += u.source(ProductAny)
	}
	total := u.TotalUsed()
	b = minLeft(b, u.Limits.Daily, w.Day)
	b = minLeft(b, u.Limits.Monthly, w.Month)
	b = minLeft(b, u.Limits.Lifetime, total)
	b = minLeft(b, u.Limits.UsageCap, total)
	return max(b, 0)
}

func minLeft(b, limit, used int64) int64 {
	if limit <= 0 {
		return b
	}
	return min(b, limit-used)
}

// Refusal explains why a sub-user may not consume now; its Code is one of the
// gateway's reason codes.
type Refusal struct {
	Code    string // e.g. traffic_exhausted, limit_daily, disabled
	Message string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

// Gateway refusal codes, shared by every edge that explains a refusal.
const (
	ReasonDisabled         = "disabled"
	ReasonBlocked          = "blocked"
	ReasonExpired          = "expired"
	ReasonDeleted          = "deleted"
	ReasonTrafficExhausted = "traffic_exhausted"
	ReasonLimitDaily       = "limit_daily"
	ReasonLimitMonthly     = "limit_monthly"
	ReasonLimitLifetime    = "limit_lifetime"
	ReasonUsageCap         = "usage_cap"
	ReasonIPCap            = "ip_cap"
	ReasonConcurrency      = "concurrency"
	ReasonBadParameter     = "bad_parameter"
	ReasonAuth             = "auth_failed"
	ReasonNoProduct        = "product_not_allowed"
)

// Check returns why the sub-user may not consume product p now, or nil. It
// looks at the gates (status, expiry) and names the first exhausted budget.
func (u *SubUser) Check(p Product, now time.Time, w WindowUsage) *Refusal {
	switch {
	case u.DeletedAt != nil:
		return &Refusal{ReasonDeleted, "sub-user was deleted"}
	case u.Status == StatusDisabled:
		return &Refusal{ReasonDisabled, "sub-user is disabled"}
	case u.Status == StatusBlocked:
		return &Refusal{ReasonBlocked, "sub-user is blocked"}
	case u.Expired(now):
		return &Refusal{ReasonExpired, "sub-user expired at " + u.ExpiresAt.UTC().Format(time.RFC3339)}
	}
	total := u.TotalUsed()
	switch {
	case u.Limits.Daily > 0 && w.Day >= u.Limits.Daily:
		return &Refusal{ReasonLimitDaily, "daily limit reached"}
	case u.Limits.Monthly > 0 && w.Month >= u.Limits.Monthly:
		return &Refusal{ReasonLimitMonthly, "monthly limit reached"}
	case u.Limits.Lifetime > 0 && total >= u.Limits.Lifetime:
		return &Refusal{ReasonLimitLifetime, "lifetime limit reached"}
	case u.Limits.UsageCap > 0 && total >= u.Limits.UsageCap:
		return &Refusal{ReasonUsageCap, "usage cap reached"}
	case u.Budget(p, w) <= 0 && u.Shared():
		return &Refusal{ReasonTrafficExhausted, "no traffic left in the shared pool for product " + string(p)}
	case u.Budget(p, w) <= 0:
		return &Refusal{ReasonTrafficExhausted, "no traffic left for product " + string(p)}
	}
	return nil
}

// Limited reports the derived read-only "limited" state: some cap or the
// whole balance is exhausted.
func (u *SubUser) Limited(now time.Time) bool {
	for _, p := range Products {
		if u.Check(p, now, u.Usage) == nil {
			return false
		}
	}
	return true
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{3,64}$`)

// ValidateUsername checks a proxy username. Usernames are unique across the
// whole system because the gateway authenticates by them; '-' is excluded
// because it separates targeting parameters.
func ValidateUsername(field, s string) error {
	if strings.Contains(s, "-") {
		return Invalidf(field, "must not contain '-': '-' separates targeting parameters in proxy usernames (alice-country-us)")
	}
	if !usernameRE.MatchString(s) {
		return Invalidf(field, "must be 3 to 64 characters of letters, digits and _")
	}
	return nil
}

// ValidateProxyPassword checks a proxy password: printable ASCII without
// spaces or ':' (Basic auth splits on it), and without a "_word-" sequence,
// which the gateway would read as IPRoyal-style settings.
func ValidateProxyPassword(field, s string) error {
	if len(s) < 4 || len(s) > 128 {
		return Invalidf(field, "must be 4 to 128 characters")
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || r == ':' {
			return Invalidf(field, "may contain printable ASCII except spaces and ':'")
		}
	}
	if passwordSettingsRE.MatchString(s) {
		return Invalidf(field, "must not contain '_' followed by letters and '-' (that starts gateway settings such as _country-us)")
	}
	return nil
}

// SubUserCreate is the input to create a sub-user.
type SubUserCreate struct {
	Username          string            `json:"username"`
	Password          string            `json:"password"` // generated when empty
	Name              string            `json:"name"`
	Note              string            `json:"note"`
	Email             string            `json:"email"`
	DashboardPassword string            `json:"dashboard_password"`
	PrivatePool       float64           `json:"private_pool"`
	Status            Status            `json:"status"`  // active when empty
	Funding           Funding           `json:"funding"` // allocated when empty
	Limits            Limits            `json:"limits"`
	ExpiresAt         *time.Time        `json:"expires_at"`
	AllowIPs          []netip.Prefix    `json:"allow_ips"`
	Traffic           map[Product]int64 `json:"traffic"` // initial bytes given from the pool
}

// Validate checks the input and fills defaults.
func (c *SubUserCreate) Validate(now time.Time) error {
	if err := ValidateUsername("username", c.Username); err != nil {
		return err
	}
	if c.Password != "" {
		if err := ValidateProxyPassword("password", c.Password); err != nil {
			return err
		}
	}
	if err := validateText(c.Name, c.Note); err != nil {
		return err
	}
	c.Email = strings.ToLower(strings.TrimSpace(c.Email))
	if c.Email != "" {
		if err := ValidateEmail("email", c.Email); err != nil {
			return err
		}
	}
	if c.DashboardPassword != "" && (len(c.DashboardPassword) < 8 || len(c.DashboardPassword) > 72) {
		return Invalidf("dashboard_password", "must be 8 to 72 characters")
	}
	if c.Status == "" {
		c.Status = StatusActive
	} else if _, err := ParseStatus("status", string(c.Status)); err != nil {
		return err
	}
	if err := c.Limits.Validate(); err != nil {
		return err
	}
	if err := validatePrefixes(c.AllowIPs); err != nil {
		return err
	}
	if err := validatePrivatePool(c.PrivatePool); err != nil {
		return err
	}
	f, err := ParseFunding("funding", string(c.Funding))
	if err != nil {
		return err
	}
	c.Funding = f
	for p, b := range c.Traffic {
		if f == FundingShared && b != 0 {
			return Invalidf("traffic", "must be empty for a shared sub-user (it draws on the pool)")
		}
		if _, err := ParseProduct(string(p)); err != nil {
			return Invalidf("traffic", "has unknown product %q", p)
		}
		if b < 0 || b > MaxBytes {
			return Invalidf("traffic."+string(p), "must be between 0 and %d bytes", MaxBytes)
		}
	}
	return nil
}

func validateText(name, note string) error {
	if len(name) > 200 {
		return Invalidf("name", "must be at most 200 characters")
	}
	if len(note) > 2000 {
		return Invalidf("note", "must be at most 2000 characters")
	}
	return nil
}

func validatePrefixes(ps []netip.Prefix) error {
	if len(ps) > 100 {
		return Invalidf("allow_ips", "may hold at most 100 entries")
	}
	for i, p := range ps {
		if !p.IsValid() {
			return Invalidf("allow_ips["+strconv.Itoa(i)+"]", "is not a valid CIDR")
		}
		// A broad prefix would let a sub-user's IP authentication claim
		// clients far beyond the reseller's own.
		if p.Addr().Is4In6() {
			return Invalidf("allow_ips["+strconv.Itoa(i)+"]", "is an IPv4-mapped IPv6 prefix, which never matches: "+
				"clients connecting over IPv4 are seen with their IPv4 address%s", ipv4Form(p))
		}
		if p.Addr().Is4() && p.Bits() < 16 || !p.Addr().Is4() && p.Bits() < 32 {
			return Invalidf("allow_ips["+strconv.Itoa(i)+"]", "is too broad (at least /16 for IPv4, /32 for IPv6)")
		}
	}
	return nil
}

// ipv4Form suggests the IPv4 prefix an IPv4-mapped one was meant as.
func ipv4Form(p netip.Prefix) string {
	if p.Bits() < 96 {
		return "; write IPv4 prefixes in IPv4 form"
	}
	return "; write " + netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked().String() + " instead"
}

// MaxPrivatePool bounds private_pool (NetNut's snkrs_private_pool): an
// opaque number that is stored and returned, so only whole numbers a
// provider's pool id or flag can be are accepted.
const MaxPrivatePool = 1<<31 - 1

// validatePrivatePool checks private_pool: a whole number from 0 to
// MaxPrivatePool.
func validatePrivatePool(v float64) error {
	if !(v >= 0 && v <= MaxPrivatePool) || v != math.Trunc(v) {
		return Invalidf("private_pool", "must be a whole number from 0 to %d", MaxPrivatePool)
	}
	return nil
}

// SubUserUpdate is a partial update; nil fields are left alone.
type SubUserUpdate struct {
	Username          *string         `json:"username,omitempty"`
	Password          *string         `json:"password,omitempty"`
	Name              *string         `json:"name,omitempty"`
	Note              *string         `json:"note,omitempty"`
	Email             *string         `json:"email,omitempty"`
	DashboardPassword *string         `json:"dashboard_password,omitempty"`
	PrivatePool       *float64        `json:"private_pool,omitempty"`
	Status            *Status         `json:"status,omitempty"`
	Funding           *Funding        `json:"funding,omitempty"`
	Limits            *Limits         `json:"limits,omitempty"`
	ExpiresAt         **time.Time     `json:"-"` // set to a nil *time.Time to clear
	AllowIPs          *[]netip.Prefix `json:"allow_ips,omitempty"`
	// AllowIPsWas, when set, applies the update only while the stored
	// allow-list is still exactly this (ECONFLICT otherwise), so an edit of
	// one entry never undoes another made meanwhile.
	AllowIPsWas *[]netip.Prefix `json:"-"`

	// Filled by the service, not by callers.
	DashboardPasswordHash *string `json:"-"`
}

// Validate checks the fields that are set.
func (u *SubUserUpdate) Validate() error {
	if u.Username != nil {
		if err := ValidateUsername("username", *u.Username); err != nil {
			return err
		}
	}
	if u.Password != nil {
		if err := ValidateProxyPassword("password", *u.Password); err != nil {
			return err
		}
	}
	var name, note string
	if u.Name != nil {
		name = *u.Name
	}
	if u.Note != nil {
		note = *u.Note
	}
	if err := validateText(name, note); err != nil {
		return err
	}
	if u.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*u.Email))
		u.Email = &e
		if e != "" {
			if err := ValidateEmail("email", e); err != nil {
				return err
			}
		}
	}
	if u.DashboardPassword != nil && (len(*u.DashboardPassword) < 8 || len(*u.DashboardPassword) > 72) {
		return Invalidf("dashboard_password", "must be 8 to 72 characters")
	}
	if u.Status != nil {
		if _, err := ParseStatus("status", string(*u.Status)); err != nil {
			return err
		}
	}
	if u.Limits != nil {
		if err := u.Limits.Validate(); err != nil {
			return err
		}
	}
	if u.Funding != nil {
		if _, err := ParseFunding("funding", string(*u.Funding)); err != nil || *u.Funding == "" {
			return Invalidf("funding", "must be allocated or shared")
		}
	}
	if u.AllowIPs != nil {
		if err := validatePrefixes(*u.AllowIPs); err != nil {
			return err
		}
	}
	if u.PrivatePool != nil {
		if err := validatePrivatePool(*u.PrivatePool); err != nil {
			return err
		}
	}
	return nil
}

// SubUserSort names a list order.
type SubUserSort string

const (
	SortID        SubUserSort = "id"
	SortUsername  SubUserSort = "username"
	SortCreatedAt SubUserSort = "created_at"
	SortUsed      SubUserSort = "used"
	SortAvailable SubUserSort = "available"
	SortStatus    SubUserSort = "status"
	SortUsageCap  SubUserSort = "usage_cap"
	SortIPCap     SubUserSort = "ip_usage_cap"
	SortIPUsed    SubUserSort = "ip_used" // egress IPs recorded in the stored day window
)

// SubUserFilter selects and orders a page of sub-users.
type SubUserFilter struct {
	Scope  Scope       // reseller, or 0 for all
	Search string      // substring of username, name or note (case-insensitive)
	Status Status      // "" for any
	Sort   SubUserSort // default id
	Desc   bool
	Limit  int // page size, 1..1000
	Offset int // page/per_page style
	// After is an opaque cursor from a previous page (keyset pagination); when
	// set, Offset is ignored.
	After string
	// WithTotal asks for the number of matching rows (costs a count).
	WithTotal bool
	// EstimateTotal, with WithTotal, accepts an estimate wherever an exact
	// count would read every match; the page says which it got.
	EstimateTotal bool
}

// Validate checks the filter and fills defaults.
func (f *SubUserFilter) Validate() error {
	switch f.Sort {
	case "":
		f.Sort = SortID
	case SortID, SortUsername, SortCreatedAt, SortUsed, SortAvailable, SortStatus, SortUsageCap, SortIPCap, SortIPUsed:
	default:
		return Invalidf("sort", "must be one of id, username, created_at, used, available, status, usage_cap, ip_usage_cap, ip_used")
	}
	if f.Status != "" && f.Status != StatusActive && f.Status != StatusDisabled && f.Status != StatusBlocked {
		return Invalidf("status", "must be active, disabled or blocked")
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return Invalidf("per_page", "must be between 1 and 1000")
	}
	if f.Offset < 0 {
		return Invalidf("page", "must be positive")
	}
	if len(f.Search) > 100 {
		return Invalidf("search", "must be at most 100 characters")
	}
	return nil
}

// SubUserPage is one page of a list.
type SubUserPage struct {
	Items []*SubUser
	Total int64  // -1 unless WithTotal
	Next  string // cursor of the next page, "" at the end
	// TotalEstimated: Total is an estimate from a sample (see EstimateTotal).
	TotalEstimated bool
}

// IsNumericRef reports whether a sub-user reference is a numeric id rather
// than a hash.
func IsNumericRef(ref string) (int64, bool) {
	id, err := strconv.ParseInt(ref, 10, 64)
	return id, err == nil && id > 0
}
