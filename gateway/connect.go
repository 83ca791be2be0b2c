package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"
)

const connectEstablished = "HTTP/1.1 200 Connection established\r\n\r\n"

// serveConnect turns an HTTP CONNECT, reqBytes long, into a metered tunnel.
// It reports whether the connection was handed off to a tunnel.
func (g *Gateway) serveConnect(c net.Conn, br *bufio.Reader, req *http.Request, ip netip.Addr, reqBytes int64) bool {
	user, pass, has := proxyAuth(req.Header)
	refused := func(r *refusal) bool {
		g.logRefusal("connect", ip, user, r)
		writeHTTPRefusal(c, r)
		return false
	}
	p, r := g.authenticate(user, pass, has, ip)
	if r != nil {
		return refused(r)
	}
	s, r := g.admit(p, "connect", c, ip)
	if r != nil {
		return refused(r)
	}
	up, r := s.dial(req.Host)
	if r == nil {
		r = s.chargeHandshake(reqBytes, int64(len(connectEstablished)))
	}
	if r != nil {
		refused(r)
		s.end(r.Code)
		return false
	}
	if r := s.answer(); r != nil {
		g.logRefusal("connect", ip, user, r)
		writeHTTPRefusal(c, r)
		s.end(r.Code)
		return false
	}
	c.SetReadDeadline(time.Time{})
	if _, err := io.WriteString(c, connectEstablished); err != nil {
		s.end("client_gone")
		return false
	}
	// The client may have sent tunnel bytes (a TLS ClientHello) right after
	// the request; the bufio reader holds them.
	if early := takeBuffered(br); len(early) > 0 {
		if _, err := s.writeMetered(up, early, true); err != nil {
			s.end("upstream_gone")
			return false
		}
	}
	return g.startTunnel(s, c, up)
}
