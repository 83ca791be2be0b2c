package gateway

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/subgate/subgate"
)

// session is one admitted proxied connection of a sub-user: a tunnel, or an
// HTTP client connection forwarding requests for one sub-user.
type session struct {
	g        *Gateway
	acct     *account
	user     *subgate.SubUser // snapshot at admission
	password string           // proved at admission; "" for IP authentication
	ip       netip.Addr
	target   subgate.Target
	product  subgate.Product // requested product (or the default)
	chain    []*balance
	proto    string
	client   net.Conn
	start    time.Time

	mu       sync.Mutex
	upstream net.Conn
	reason   string // why enforcement cut it; "" while not cut
	ended    bool
	// answered: the client was told it is connected. Until then a cut
	// leaves the client's socket to the admitting code, which answers
	// with the refusal.
	answered bool

	up, down atomic.Int64 // metered bytes, client → target and back
	inflight atomic.Int64 // reserved by copy steps not yet settled
}

// cut ends the session at once for reason: closing both sockets unblocks any
// copy step, including a splice. The client's socket closes with a reset,
// so the client can tell a cut from the target ending normally (a FIN). A
// session not answered yet keeps its client socket: the code admitting it
// answers with the refusal (see answer) instead of the client seeing the
// connection close.
func (s *session) cut(reason string) {
	s.mu.Lock()
	if s.reason != "" || s.ended {
		s.mu.Unlock()
		return
	}
	s.reason = reason
	up, answered := s.upstream, s.answered
	s.mu.Unlock()
	s.g.metrics.cuts.WithLabelValues(reason).Inc()
	if answered {
		resetOnClose(s.client)
		s.client.Close()
	}
	if up != nil {
		up.Close()
	}
}

// answer marks the session answered before the client is told it is
// connected; a session cut before then is refused instead, with the
// refusal to send.
func (s *session) answer() *refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason != "" {
		return refuse(s.reason, "connection was cut")
	}
	s.answered = true
	return nil
}

// unanswered reports whether the client was never told it is connected.
func (s *session) unanswered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.answered
}

// cutReason is why the session was cut, or "".
func (s *session) cutReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// setUpstream attaches the outbound connection; false (and the connection
// closed) when the session was cut meanwhile.
func (s *session) setUpstream(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason != "" {
		c.Close()
		return false
	}
	if s.upstream != nil && s.upstream != c {
		s.upstream.Close()
	}
	s.upstream = c
	return true
}

// end unregisters the session and writes its closing log line.
func (s *session) end(closedBy string) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	reason := s.reason
	up := s.upstream
	s.mu.Unlock()
	if up != nil {
		up.Close()
	}
	if reason == "" {
		reason = closedBy
	}
	s.acct.unregister(s)
	s.g.metrics.open.Dec()
	s.g.log.Info("tunnel closed", "subuser", s.user.Username, "subuser_id", s.user.ID, "protocol", s.proto,
		"client", s.ip.String(), "product", string(s.product), "bytes_up", s.up.Load(), "bytes_down", s.down.Load(),
		"duration", time.Since(s.start).Round(time.Millisecond).String(), "reason", reason)
}

// dial opens the outbound connection through the configured dialer.
func (s *session) dial(address string) (net.Conn, *refusal) {
	g := s.g
	ctx, cancel := contextWithTimeout(g.cfg.DialTimeout)
	defer cancel()
	// The router routes by the product this session is metered on, even
	// when the router's own default changed since the gateway started.
	t := s.target
	t.Product = s.product
	c, err := g.cfg.Dialer.Dial(ctx, subgate.DialRequest{
		SubUser: s.user, Target: t, Network: "tcp", Address: address, Admit: s.admitEgress,
	})
	if err != nil {
		if r := s.cutReason(); r != "" {
			return nil, refuse(r, "connection was cut")
		}
		return nil, dialRefusal(err)
	}
	if !s.setUpstream(c) {
		return nil, refuse(s.cutReason(), "connection was cut")
	}
	return c, nil
}

// resetOnClose makes the next Close of a TCP connection send a reset
// instead of a FIN (SO_LINGER 0), dropping whatever it has not sent.
func resetOnClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
}
