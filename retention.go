package subgate

import "time"

// How long stores keep rows that only recent requests read; housekeeping
// deletes them after that.
const (
	// EgressRetention keeps egress keys of the current and previous days.
	EgressRetention = 48 * time.Hour
	// SessionTokenRetention keeps expired login tokens (NetNut, dashboard)
	// a day, so a late caller is told its token expired rather than
	// unknown. API tokens are never pruned: they are revoked, not expired.
	SessionTokenRetention = 24 * time.Hour
)
