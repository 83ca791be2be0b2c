package subgate

import "time"

// Metering flow: a gateway node leases a slice of a sub-user's budget in the
// store (AcquireLease), serves byte reservations from it in memory, and flushes
// settled usage about once a second (FlushUsage). Usage settles against the
// lease; unused lease goes back on release. One node or many, the mechanism is
// the same, and no node can hand out more than the store granted it.

// LeaseRequest asks the store to grow a node's lease on one balance.
type LeaseRequest struct {
	Node      string
	SubUserID int64
	Product   Product // the balance drawn from: a product or ProductAny
	Want      int64   // bytes to add to the node's lease
	TTL       time.Duration
	Now       time.Time
	Windows   Windows
}

// Lease is the part of a sub-user's budget held by one node.
type Lease struct {
	Node      string
	SubUserID int64
	Product   Product
	Bytes     int64
	ExpiresAt time.Time
}

// UsageItem is settled usage of one sub-user on one balance within one hour.
type UsageItem struct {
	SubUserID int64
	Product   Product   // the balance charged (a product or ProductAny)
	Hour      time.Time // start of the UTC hour
	Bytes     int64
}

// LeaseRelease gives unused lease back.
type LeaseRelease struct {
	SubUserID int64
	Product   Product
	Bytes     int64
}

// EgressUse records that a sub-user used a distinct egress IP or session in
// the day window (for ip_usage_cap).
type EgressUse struct {
	SubUserID int64
	Key       string
}

// UsageBatch is one flush from one node. Applying the same batch ID twice
// changes nothing the second time.
type UsageBatch struct {
	ID       string // ULID
	Node     string
	Now      time.Time
	Windows  Windows
	Items    []UsageItem
	Release  []LeaseRelease
	Egress   []EgressUse
	LeaseTTL time.Duration // the node's remaining leases are renewed to Now+LeaseTTL
}

// UsageGranularity is the step of a usage series.
type UsageGranularity string

const (
	GranularityHour UsageGranularity = "hour"
	GranularityDay  UsageGranularity = "day"
)

// UsageQuery selects a usage series.
type UsageQuery struct {
	Scope       Scope
	SubUserIDs  []int64 // empty for all the scope's sub-users
	From, To    time.Time
	Granularity UsageGranularity
	BySubUser   bool // one series per sub-user instead of a sum
	Windows     Windows
}

// Validate checks the range and fills defaults.
func (q *UsageQuery) Validate() error {
	switch q.Granularity {
	case "":
		q.Granularity = GranularityDay
	case GranularityHour, GranularityDay:
	default:
		return Invalidf("granularity", "must be hour or day")
	}
	if q.From.IsZero() || q.To.IsZero() {
		return Invalidf("from", "and to are required")
	}
	if !q.From.Before(q.To) {
		return Invalidf("to", "must be after from")
	}
	if q.To.Sub(q.From) > 366*24*time.Hour {
		return Invalidf("to", "must be at most 366 days after the start")
	}
	return nil
}

// UsagePoint is the bytes used in one step of a series.
type UsagePoint struct {
	Time      time.Time `json:"time"` // start of the hour or day
	SubUserID int64     `json:"subuser_id,omitempty"`
	Product   Product   `json:"product"`
	Bytes     int64     `json:"bytes"`
}

// LeaseGrant decides how many bytes a lease on balance p may grow by. Both
// stores call it inside the transaction that locks the sub-user row, so the
// rule lives once. leasedOnBalance is the sum of live leases (all nodes) on
// (u, p); leasedTotal the sum of live leases on u over every balance, since
// byte limits span products. w must be the window usage current at now.
func LeaseGrant(u *SubUser, p Product, w WindowUsage, leasedOnBalance, leasedTotal, want int64, now time.Time) int64 {
	if want <= 0 || u.DeletedAt != nil || u.Status != StatusActive || u.Expired(now) {
		return 0
	}
	grant := min(want, u.Traffic[p].Available-leasedOnBalance)
	total := u.TotalUsed()
	grant = minLeft(grant, u.Limits.Daily, w.Day+leasedTotal)
	grant = minLeft(grant, u.Limits.Monthly, w.Month+leasedTotal)
	grant = minLeft(grant, u.Limits.Lifetime, total+leasedTotal)
	grant = minLeft(grant, u.Limits.UsageCap, total+leasedTotal)
	return max(grant, 0)
}

// At returns the window usage as it stands at now: a counter whose window
// has passed reads zero.
func (w WindowUsage) At(ws Windows, now time.Time) WindowUsage {
	if w.DayKey != ws.DayKey(now) {
		w.DayKey, w.Day, w.IPsUsed = ws.DayKey(now), 0, 0
	}
	if w.MonthKey != ws.MonthKey(now) {
		w.MonthKey, w.Month = ws.MonthKey(now), 0
	}
	return w
}

// AuditLine sums one reseller's balances for one product twice: from the
// balance columns and, independently, from the ledger. Tests require
// Pool+Available+Used == Credited-Debited and both views to agree.
type AuditLine struct {
	Pool, Available, Used, Leased int64 // from balances (deleted sub-users included)
	Credited, Debited             int64 // from the ledger
	LedgerPool                    int64 // credit − debit − give + take + return
	LedgerAvailable               int64 // give − take − return − usage
	LedgerUsed                    int64 // usage
}
