package subgate

import (
	"context"
	"net"
	"time"
)

// Target is what a proxy connection asks for through the parameters in its
// credentials (e.g. "alice-country-us-session-abc123-ttl-10m"). The gateway
// parses it; the router honours it.
type Target struct {
	Product    Product       // "" means the configured default product
	Country    string        // ISO 3166-1 alpha-2, lower case; "" any
	State      string        // lower case; "" any
	City       string        // lower case; "" any
	Session    string        // sticky session id as the client sent it; "" rotates
	SessionTTL time.Duration // how long the session sticks; 0 means the router's default
}

// DialRequest is one outbound connection the gateway needs for a sub-user.
type DialRequest struct {
	SubUser *SubUser
	Target  Target
	Network string // "tcp"
	Address string // host:port the client asked for
	// Admit, when set, is called by the router with the key of the egress it
	// is about to use (an IP or upstream session); an error refuses the dial
	// (the gateway uses it for ip_usage_cap).
	Admit func(egressKey string) error
}

// Dialer opens outbound connections: directly, through upstream proxies or
// from a sub-user's dedicated egress IPs.
type Dialer interface {
	Dial(ctx context.Context, r DialRequest) (net.Conn, error)
}

// DirectDialer connects from the gateway host itself; the router's simplest route.
type DirectDialer struct{ net.Dialer }

// Dial implements Dialer.
func (d *DirectDialer) Dial(ctx context.Context, r DialRequest) (net.Conn, error) {
	if r.Admit != nil {
		if err := r.Admit("direct"); err != nil {
			return nil, err
		}
	}
	return d.DialContext(ctx, r.Network, r.Address)
}
