package route

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// RefusedError is an upstream proxy's answer that it will not or cannot
// reach the target. The upstream itself works, so the router does not fail
// over; the gateway may pass Status on (e.g. NetNut's 490 "no IPs for that
// country").
type RefusedError struct {
	Upstream string
	Status   int    // HTTP status; SOCKS5 target replies map to 502
	Reason   string // the upstream's status line or SOCKS5 reply
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("upstream %s refused the target: %s", e.Upstream, e.Reason)
}

// dialFunc opens a connection; it also satisfies x/net/proxy's dialer
// interfaces so it can be the forward dialer of a SOCKS5 hop.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialFunc) Dial(network, addr string) (net.Conn, error) {
	return f(context.Background(), network, addr)
}

func (f dialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// hop is one compiled proxy of a chain.
type hop struct {
	Proxy
	user, pass rewriter
}

func compileHop(p Proxy) (*hop, error) {
	user, pass, err := presetOf(p.Preset)
	if err != nil {
		return nil, err
	}
	if p.UserTemplate != "" {
		t, err := ParseTemplate(p.UserTemplate)
		if err != nil {
			return nil, err
		}
		user = t.render
	}
	if p.PasswordTemplate != "" {
		t, err := ParseTemplate(p.PasswordTemplate)
		if err != nil {
			return nil, err
		}
		pass = t.render
	}
	return &hop{Proxy: p, user: user, pass: pass}, nil
}

// credentials rewrites the hop's account credentials for one connection.
func (h *hop) credentials(c *call) (string, string) {
	p := c.params(h.Username, h.Password, h.ProductToken)
	return h.user(p), h.pass(p)
}

// open reaches target through this hop, reaching the hop itself with forward.
func (h *hop) open(ctx context.Context, forward dialFunc, target string, c *call) (net.Conn, error) {
	user, pass := h.credentials(c)
	if h.Protocol == ProtocolSOCKS5 {
		return connectSOCKS5(ctx, forward, h.Address, target, user, pass)
	}
	conn, err := forward(ctx, "tcp", h.Address)
	if err != nil {
		return nil, err
	}
	tunnel, err := connectHTTP(ctx, conn, target, user, pass)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return tunnel, nil
}

// upstreamMember is an upstream proxy, possibly behind a chain of others.
type upstreamMember struct {
	name  string
	hops  []*hop // via…, then the upstream itself
	local dialFunc
}

func newUpstreamMember(u Upstream, local dialFunc) (*upstreamMember, error) {
	m := &upstreamMember{name: u.Name, local: local}
	for _, p := range append(append([]Proxy{}, u.Via...), u.Proxy) {
		h, err := compileHop(p)
		if err != nil {
			return nil, err
		}
		m.hops = append(m.hops, h)
	}
	return m, nil
}

func (m *upstreamMember) id() string { return m.name }

// admitKey names the egress for ip_usage_cap: the upstream session when the
// connection is sticky. A rotating upstream's exit IP is unknown here, so the
// upstream stands for it.
func (m *upstreamMember) admitKey(c *call) string {
	if c.sticky {
		return "upstream:" + m.name + ":session:" + c.derived.Alnum
	}
	return "upstream:" + m.name
}

func (m *upstreamMember) dial(ctx context.Context, c *call) (net.Conn, error) {
	forward := m.local
	last := len(m.hops) - 1
	for _, h := range m.hops[:last] {
		forward = viaHop(h, forward, c)
	}
	conn, err := m.hops[last].open(ctx, forward, c.req.Address, c)
	var refused *RefusedError
	if errors.As(err, &refused) {
		refused.Upstream = m.name
	}
	return conn, err
}

// viaHop turns an intermediate hop into the dialer of the next hop. Its
// refusals are failures of the chain, not answers about the target.
func viaHop(h *hop, forward dialFunc, c *call) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := h.open(ctx, forward, addr, c)
		if err != nil {
			return nil, fmt.Errorf("via %s: %v", h.Address, err)
		}
		return conn, nil
	}
}

// egressFailure says whether err means the upstream (or its chain) failed,
// so the connection should try another one. A refusal about the target is
// not, except a 407: the upstream rejected our account.
func (m *upstreamMember) egressFailure(err error) bool {
	var refused *RefusedError
	if errors.As(err, &refused) {
		return refused.Status == 407
	}
	return !errors.Is(err, context.Canceled)
}

// trackedConn counts a connection as active on its egress until closed; only
// least-connections routes need it, so only they pay for the wrapper. It
// passes ReadFrom, WriteTo and CloseWrite through and exposes the raw
// connection with NetConn, so a copy loop can unwrap it for splice.
type trackedConn struct {
	net.Conn
	once   sync.Once
	active *atomic.Int64
}

func track(conn net.Conn, active *atomic.Int64) net.Conn {
	active.Add(1)
	return &trackedConn{Conn: conn, active: active}
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.active.Add(-1) })
	return c.Conn.Close()
}

// NetConn returns the underlying connection.
func (c *trackedConn) NetConn() net.Conn { return c.Conn }

// CloseWrite half-closes the underlying connection when it can.
func (c *trackedConn) CloseWrite() error { return closeWrite(c.Conn) }

// ReadFrom lets a splice-capable connection copy from r directly.
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// WriteTo lets a splice-capable connection copy to w directly.
func (c *trackedConn) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := c.Conn.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	return io.Copy(w, struct{ io.Reader }{c.Conn})
}

// upstreamRoute sends connections through upstream proxies.
type upstreamRoute struct {
	pool  pool
	slots []slot
}

func (u *upstreamRoute) candidates(context.Context, *call) ([]slot, error) { return u.slots, nil }
func (u *upstreamRoute) picker() *pool                                     { return &u.pool }

// closeWrite half-closes c, or reports that it cannot.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
