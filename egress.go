package subgate

// ip_usage_cap: a sub-user may use at most Limits.IPUsageCap distinct egress
// keys (IPs or upstream sessions) per day window. The store is the arbiter
// of new keys, so nodes sharing a database, and a restarted node, agree on
// which keys a day has used; a key already used that day is always admitted
// again.

// EgressRequest asks the store to admit one egress key of a sub-user in a
// day window (Windows.DayKey).
type EgressRequest struct {
	SubUserID int64
	DayKey    int64
	Key       string
	// Cap is the sub-user's ip_usage_cap as the caller knows it; a new key
	// is refused once the day holds Cap keys. 0 or less admits every key.
	Cap int64
	// ListKeys asks for every key of the day in the answer: a node's first
	// admission for a sub-user loads what is known in the same round trip.
	ListKeys bool
}

// EgressAdmission is the store's answer to an EgressRequest.
type EgressAdmission struct {
	Admitted bool
	Count    int64    // distinct keys of the day after the decision
	Keys     []string // with ListKeys: the day's keys after the decision
}

// AdmitsEgress is the rule stores apply, in the transaction that serialises
// a sub-user's admissions: a key the day already holds is admitted, a new
// one only while the day holds fewer than cap keys.
func AdmitsEgress(known bool, count, cap int64) bool {
	return known || cap <= 0 || count < cap
}
