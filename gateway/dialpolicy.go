package gateway

import (
	"net"

	"github.com/subgate/subgate"
)

// publicOnlyDialer is the default dialer: direct, but never to loopback,
// private, link-local, unspecified or multicast addresses, so a sub-user
// cannot reach services on the gateway host or its networks. The check
// (subgate.RefusePrivateTargets, shared with the router) runs on the resolved
// address, just before connect, so DNS cannot sneak past it.
func publicOnlyDialer() subgate.Dialer {
	return &subgate.DirectDialer{Dialer: net.Dialer{Control: subgate.RefusePrivateTargets}}
}
