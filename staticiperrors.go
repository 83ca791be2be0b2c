package subgate

// The static IP inventory's refusals, the same whichever store keeps it.

// StaticIPStocked is the conflict of adding an entry already in the
// inventory; a proxy's password stays out of the message.
func StaticIPStocked(ip *StaticIP) error {
	return Errorf(ECONFLICT, "static IP %s is already in the inventory",
		ip.Address+RedactStaticUpstream(ip.Upstream))
}

// StaticIPAllocated is the conflict of removing an entry still allocated.
func StaticIPAllocated(id int64) error {
	return Errorf(ECONFLICT, "static IP %d is allocated; release it first", id)
}

// Insufficient is the refusal of an allocation that found only free of its
// Count IPs.
func (a *StaticIPAllocation) Insufficient(free int) error {
	where := a.Country
	if a.AccessPoint != "" {
		where += "/" + a.AccessPoint
	}
	return Errorf(EINSUFFICIENT, "only %d free static IPs in %s, %d asked", free, where, a.Count)
}
