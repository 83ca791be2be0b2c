package subgate

import "time"

// How long stores keep rows that only recent requests read; housekeeping
// deletes them after that.
const (
	// EgressRetention keeps egress keys of the current and previous days.
	EgressRetention = 48 * time.Hour
	// NetNutTokenRetention keeps expired NetNut login tokens a day, so a
	// late caller is told its token expired rather than unknown.
	NetNutTokenRetention = 24 * time.Hour
)
