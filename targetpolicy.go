package subgate

import (
	"net/netip"
	"syscall"
)

// ReasonTargetNotAllowed refuses a target on the gateway host or its
// private networks.
const ReasonTargetNotAllowed = "target_not_allowed"

// PublicAddr says whether a sub-user may reach a (resolved) address: global
// unicast only, never loopback, private (RFC 1918, fc00::/7), link-local,
// carrier-grade NAT (100.64.0.0/10), 0.0.0.0/8, unspecified or multicast.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !isSharedOrReserved(a)
}

// isSharedOrReserved covers IPv4 ranges IsPrivate leaves out.
func isSharedOrReserved(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	return b[0] == 0 || (b[0] == 100 && b[1]&0xc0 == 64)
}

// RefusePrivateTargets is a net.Dialer Control function that refuses every
// address PublicAddr rejects with a *Refusal (ReasonTargetNotAllowed). It
// runs on the resolved address just before connect, so a host name that
// resolves to a private address cannot slip past it.
func RefusePrivateTargets(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &Refusal{Code: ReasonTargetNotAllowed, Message: "unparsable target address"}
	}
	if !PublicAddr(ap.Addr()) {
		return &Refusal{Code: ReasonTargetNotAllowed, Message: "target " + ap.Addr().String() + " is not a public address"}
	}
	return nil
}
