package gateway

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/subgate/subgate"
)

// SOCKS5 (RFC 1928) with username/password authentication (RFC 1929).
const (
	socksMethodNone     = 0x00
	socksMethodUserPass = 0x02
	socksMethodNoneOK   = 0xFF
	socksCmdConnect     = 0x01
	socksAtypIPv4       = 0x01
	socksAtypDomain     = 0x03
	socksAtypIPv6       = 0x04
	socksAuthVersion    = 0x01
)

// socksError is a malformed or unsupported handshake with the reply code
// that explains it.
type socksError struct {
	reply byte
	msg   string
}

func (e *socksError) Error() string { return "socks5: " + e.msg }

// readSocksGreeting reads the version and the offered methods.
func readSocksGreeting(r io.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	if h[0] != socksVersion {
		return nil, &socksError{socksGeneralFailure, "version " + strconv.Itoa(int(h[0]))}
	}
	if h[1] == 0 {
		return nil, &socksError{socksGeneralFailure, "no methods offered"}
	}
	methods := make([]byte, h[1])
	_, err := io.ReadFull(r, methods)
	return methods, err
}

// readSocksUserPass reads an RFC 1929 username/password request.
func readSocksUserPass(r io.Reader) (user, pass string, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", "", err
	}
	if h[0] != socksAuthVersion {
		return "", "", &socksError{socksGeneralFailure, "auth version " + strconv.Itoa(int(h[0]))}
	}
	u := make([]byte, h[1])
	if _, err := io.ReadFull(r, u); err != nil {
		return "", "", err
	}
	var pl [1]byte
	if _, err := io.ReadFull(r, pl[:]); err != nil {
		return "", "", err
	}
	p := make([]byte, pl[0])
	if _, err := io.ReadFull(r, p); err != nil {
		return "", "", err
	}
	return string(u), string(p), nil
}

// readSocksRequest reads a request and returns its host:port; only CONNECT
// is served. A malformed request is a *socksError, a bad target a *refusal.
func readSocksRequest(r io.Reader) (string, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", err
	}
	if h[0] != socksVersion {
		return "", &socksError{socksGeneralFailure, "request version " + strconv.Itoa(int(h[0]))}
	}
	var host string
	switch h[3] {
	case socksAtypIPv4, socksAtypIPv6:
		n := 4
		if h[3] == socksAtypIPv6 {
			n = 16
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		a, _ := netip.AddrFromSlice(b)
		host = a.String()
	case socksAtypDomain:
		var l [1]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return "", err
		}
		b := make([]byte, l[0])
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		if !validDomain(b) {
			return "", &socksError{socksHostUnreachable, "malformed domain name"}
		}
		host = string(b)
	default:
		return "", &socksError{socksAddrTypeNotSupport, "address type " + strconv.Itoa(int(h[3]))}
	}
	var pb [2]byte
	if _, err := io.ReadFull(r, pb[:]); err != nil {
		return "", err
	}
	if h[1] != socksCmdConnect {
		return "", &socksError{socksCmdNotSupported, "command " + strconv.Itoa(int(h[1]))}
	}
	port := binary.BigEndian.Uint16(pb[:])
	if port == 0 {
		// Nothing listens on port 0: a malformed request, refused like
		// any other the gateway will not serve.
		return "", refuse(reasonBadRequest, "port 0")
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port))), nil
}

// validDomain accepts host names of letters, digits, '-', '_' and '.'.
func validDomain(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return len(b) > 0
}

// socksReplyBytes builds a reply carrying the bound address.
func socksReplyBytes(code byte, bound net.Addr) []byte {
	out := []byte{socksVersion, code, 0}
	ap := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if a, ok := bound.(*net.TCPAddr); ok {
		ap = a.AddrPort()
	}
	if ip := ap.Addr().Unmap(); ip.Is4() {
		out = append(out, socksAtypIPv4)
		out = append(out, ip.AsSlice()...)
	} else {
		out = append(out, socksAtypIPv6)
		out = append(out, ip.AsSlice()...)
	}
	return binary.BigEndian.AppendUint16(out, ap.Port())
}

// serveSOCKS serves one SOCKS5 client: handshake, authentication, CONNECT,
// then a metered tunnel. Every refusal gets the reply code that fits, and a
// log line with the reason.
func (g *Gateway) serveSOCKS(c net.Conn, br *bufio.Reader, ip netip.Addr) bool {
	pulled := &countingReader{r: io.MultiReader(bytes.NewReader(takeBuffered(br)), c)}
	br.Reset(pulled)
	answered := &countingWriter{Conn: c}
	p, user, ok := g.socksAuthenticate(answered, br, ip)
	if !ok {
		return false
	}
	addr, err := readSocksRequest(br)
	if err != nil {
		var se *socksError
		var r *refusal
		switch {
		case errors.As(err, &se):
			c.Write(socksReplyBytes(se.reply, nil))
			g.logRefusal("socks5", ip, user, refuse(reasonUnsupported, "%s", se.msg))
		case errors.As(err, &r):
			g.socksRefuse(c, ip, user, r)
		}
		return false
	}
	if p.refusal != nil { // parameters wrong, or credentials not checked
		g.socksRefuse(c, ip, user, p.refusal)
		return false
	}
	s, r := g.admit(p.principal, "socks5", c, ip)
	if r != nil {
		g.socksRefuse(c, ip, user, r)
		return false
	}
	up, r := s.dial(addr)
	var reply []byte
	if r == nil {
		reply = socksReplyBytes(socksSucceeded, up.LocalAddr())
		r = s.chargeHandshake(pulled.n-int64(br.Buffered()), answered.n+int64(len(reply)))
	}
	if r != nil {
		g.socksRefuse(c, ip, user, r)
		s.end(r.Code)
		return false
	}
	if r := s.answer(); r != nil {
		g.socksRefuse(c, ip, user, r)
		s.end(r.Code)
		return false
	}
	c.SetReadDeadline(time.Time{})
	if _, err := c.Write(reply); err != nil {
		s.end("client_gone")
		return false
	}
	if early := takeBuffered(br); len(early) > 0 {
		if _, err := s.writeMetered(up, early, true); err != nil {
			s.end("upstream_gone")
			return false
		}
	}
	return g.startTunnel(s, c, up)
}

type socksPrincipal struct {
	principal *principal
	refusal   *refusal // bad_parameter, answered after the request is read
}

// socksAuthenticate negotiates a method and authenticates: RFC 1929 when
// the client offers it, otherwise the source IP.
func (g *Gateway) socksAuthenticate(c net.Conn, br *bufio.Reader, ip netip.Addr) (socksPrincipal, string, bool) {
	methods, err := readSocksGreeting(br)
	if err != nil {
		return socksPrincipal{}, "", false
	}
	offered := func(m byte) bool {
		for _, x := range methods {
			if x == m {
				return true
			}
		}
		return false
	}
	switch {
	case offered(socksMethodUserPass):
		if _, err := c.Write([]byte{socksVersion, socksMethodUserPass}); err != nil {
			return socksPrincipal{}, "", false
		}
		user, pass, err := readSocksUserPass(br)
		if err != nil {
			return socksPrincipal{}, "", false
		}
		p, r := g.authenticate(user, pass, true, ip)
		// Wrong parameters, or credentials the store could not check now,
		// are answered in the reply to the request, which can say so.
		if r != nil && r.Code != subgate.ReasonBadParameter && r.Code != reasonUnavailable {
			c.Write([]byte{socksAuthVersion, 0x01})
			g.logRefusal("socks5", ip, user, r)
			return socksPrincipal{}, user, false
		}
		if _, err := c.Write([]byte{socksAuthVersion, 0x00}); err != nil {
			return socksPrincipal{}, "", false
		}
		return socksPrincipal{principal: p, refusal: r}, user, true
	case offered(socksMethodNone):
		p, r := g.authenticate("", "", false, ip)
		if r != nil {
			c.Write([]byte{socksVersion, socksMethodNoneOK})
			g.logRefusal("socks5", ip, "", r)
			return socksPrincipal{}, "", false
		}
		if _, err := c.Write([]byte{socksVersion, socksMethodNone}); err != nil {
			return socksPrincipal{}, "", false
		}
		return socksPrincipal{principal: p}, p.user.Username, true
	}
	c.Write([]byte{socksVersion, socksMethodNoneOK})
	g.logRefusal("socks5", ip, "", refuse(subgate.ReasonAuth, "no acceptable authentication method"))
	return socksPrincipal{}, "", false
}

func (g *Gateway) socksRefuse(c net.Conn, ip netip.Addr, user string, r *refusal) {
	g.logRefusal("socks5", ip, user, r)
	c.Write(socksReplyBytes(socksReply(r.Code), nil))
}
