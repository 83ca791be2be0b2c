package route

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"github.com/subgate/subgate"
)

// localMember connects from the gateway host, from a chosen source address
// or from the system's choice when src is invalid.
type localMember struct {
	src          netip.Addr
	dialer       net.Dialer
	allowPrivate bool
}

// newLocalMember refuses private targets (subgate.RefusePrivateTargets,
// checked on the resolved address) unless allowPrivate.
func newLocalMember(src netip.Addr, allowPrivate bool) *localMember {
	m := &localMember{src: src, allowPrivate: allowPrivate}
	if !allowPrivate {
		m.dialer.Control = subgate.RefusePrivateTargets
	}
	if src.IsValid() {
		m.dialer.LocalAddr = &net.TCPAddr{IP: src.AsSlice(), Zone: src.Zone()}
	}
	return m
}

func (m *localMember) id() string {
	if !m.src.IsValid() {
		return "direct"
	}
	return m.src.String()
}

// admitKey is the source IP, the egress the origin sees.
func (m *localMember) admitKey(*call) string { return m.id() }

// checkTarget refuses a private IP literal before the egress is admitted,
// so a refused target does not count against ip_usage_cap. Names are
// checked once resolved, by the dialer's Control.
func (m *localMember) checkTarget(c *call) error {
	if m.allowPrivate {
		return nil
	}
	if _, err := netip.ParseAddrPort(c.req.Address); err != nil {
		return nil
	}
	return subgate.RefusePrivateTargets(c.network(), c.req.Address, nil)
}

func (m *localMember) dial(ctx context.Context, c *call) (net.Conn, error) {
	return m.dialer.DialContext(ctx, c.network(), c.req.Address)
}

// egressFailure: a refused, unreachable or forbidden target is the
// target's problem; a source address the host no longer has is the egress's.
func (m *localMember) egressFailure(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL)
}

// directRoute connects from the gateway host itself.
type directRoute struct {
	pool  pool
	slots []slot
}

func (d *directRoute) candidates(context.Context, *call) ([]slot, error) { return d.slots, nil }
func (d *directRoute) picker() *pool                                     { return &d.pool }

// localDial is how the first hop of an upstream chain is reached.
func localDial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
