package gateway

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// serveHTTP serves an HTTP proxy client: absolute-URI requests forwarded on
// a kept-alive connection, until a CONNECT turns it into a tunnel.
func (g *Gateway) serveHTTP(c net.Conn, br *bufio.Reader, ip netip.Addr) bool {
	// The header limit sits under br, so it bounds what br pulls from the
	// socket; br keeps its buffer and the bytes already in it.
	pulled := &countingReader{r: io.MultiReader(bytes.NewReader(takeBuffered(br)), c)}
	lim := &headerLimiter{r: pulled, left: -1}
	br.Reset(lim)
	consumed := func() int64 { return pulled.n - int64(br.Buffered()) }
	fw := &forwarder{g: g, client: c, ip: ip}
	defer fw.close("closed")
	for first := true; ; first = false {
		if !first && !g.setIdle(c, true) {
			return false
		}
		lim.left = maxHeaderBytes
		start := consumed()
		req, err := readProxyRequest(br)
		lim.left = -1 // bodies and tunnels are not limited
		g.setIdle(c, false)
		if err != nil {
			var r *refusal
			if errors.As(err, &r) {
				g.logRefusal("http", ip, "", r)
				writeHTTPRefusal(c, r)
			}
			return false
		}
		c.SetReadDeadline(time.Time{})
		if req.Method == http.MethodConnect {
			fw.close("closed")
			return g.serveConnect(c, br, req, ip, consumed()-start)
		}
		if !fw.forward(br, req) {
			return false
		}
		c.SetReadDeadline(time.Now().Add(g.cfg.IdleTimeout))
	}
}

// readProxyRequest reads one request a proxy may serve: CONNECT to
// host:port, or an absolute http:// URI. Anything else is a refusal.
func readProxyRequest(br *bufio.Reader) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		if errors.Is(err, errHeaderTooLarge) {
			return nil, refuse(reasonBadRequest, "request header is larger than %d KiB", maxHeaderBytes>>10)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isTimeout(err) || errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		return nil, refuse(reasonBadRequest, "malformed request")
	}
	if req.Method == http.MethodConnect {
		host, port, err := net.SplitHostPort(req.Host)
		if err != nil || host == "" || port == "" {
			return nil, refuse(reasonBadRequest, "CONNECT needs host:port")
		}
		if !validPort(port) {
			return nil, refuse(reasonBadRequest, "CONNECT port %q is not a number from 1 to 65535", port)
		}
		return req, nil
	}
	if !req.URL.IsAbs() || req.URL.Host == "" {
		return nil, refuse(reasonBadRequest, "not a proxy request (absolute URI required)")
	}
	if req.URL.Scheme != "http" {
		return nil, refuse(reasonUnsupported, "scheme %s: use CONNECT for https", req.URL.Scheme)
	}
	if port := req.URL.Port(); port != "" && !validPort(port) {
		return nil, refuse(reasonBadRequest, "port %q is not a number from 1 to 65535", port)
	}
	return req, nil
}

// validPort accepts the decimal TCP ports a target can listen on.
func validPort(s string) bool {
	n, err := strconv.ParseUint(s, 10, 16)
	return err == nil && n > 0
}

// maxHeaderBytes bounds one request's line and header fields, read before
// authentication, so a client cannot make the gateway buffer without end.
const maxHeaderBytes = 64 << 10

var errHeaderTooLarge = errors.New("request header too large")

// headerLimiter lets at most left bytes through (no limit while left < 0);
// it is re-armed for every request of a kept-alive connection.
type headerLimiter struct {
	r    io.Reader
	left int
}

func (l *headerLimiter) Read(p []byte) (int, error) {
	if l.left < 0 {
		return l.r.Read(p)
	}
	if l.left == 0 {
		return 0, errHeaderTooLarge
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= n
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// proxyAuth reads Basic credentials from Proxy-Authorization.
func proxyAuth(h http.Header) (user, pass string, ok bool) {
	v := h.Get("Proxy-Authorization")
	scheme, enc, found := strings.Cut(v, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok
}

// hopHeaders are the connection-specific fields of RFC 9110 section 7.6.1
// (plus the proxy credentials and legacy Proxy-Connection), never forwarded.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for _, name := range strings.Split(f, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// forwarder relays the requests of one client connection, keeping the
// upstream connection while the sub-user and target stay the same.
type forwarder struct {
	g      *Gateway
	client net.Conn
	ip     netip.Addr
	s      *session
	key    string // user, password and target of s
	addr   string // host:port of the upstream connection
	up     net.Conn
	upbr   *bufio.Reader
}

func (f *forwarder) close(reason string) {
	if f.s != nil {
		f.s.end(reason)
		f.s, f.up, f.upbr, f.addr = nil, nil, nil, ""
	}
}

// forward serves one request; false means close the client connection.
func (f *forwarder) forward(br *bufio.Reader, req *http.Request) bool {
	g := f.g
	user, pass, has := proxyAuth(req.Header)
	p, r := g.authenticate(user, pass, has, f.ip)
	if r != nil {
		return f.refuse(user, r)
	}
	key := user + "\x00" + pass
	if f.s == nil || f.key != key || f.s.cutReason() != "" {
		f.close("closed")
		s, r := g.admit(p, "http", f.client, f.ip)
		if r != nil {
			return f.refuse(user, r)
		}
		f.s, f.key = s, key
	}
	s := f.s
	addr := req.URL.Host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "80")
	}
	// A budget that ran out since the last request gets an answer, not a cut.
	b, n, r := s.reserve(1)
	if r != nil {
		return f.refuse(user, r)
	}
	s.settle(b, n, 0)
	closeAfter := req.Close
	removeHopHeaders(req.Header)
	req.RequestURI = ""
	resp, err := f.roundTrip(s, req, addr)
	if err != nil {
		return f.upstreamFailed(user, err)
	}
	defer resp.Body.Close()
	upstreamClose := resp.Close
	removeHopHeaders(resp.Header)
	resp.Close = closeAfter || upstreamClose
	if r := s.answer(); r != nil {
		return f.refuse(user, r)
	}
	bw := bufio.NewWriterSize(&meteredWriter{s: s, w: f.client, up: false}, 32<<10)
	if err := resp.Write(bw); err != nil {
		return false
	}
	if err := bw.Flush(); err != nil {
		return false
	}
	if upstreamClose {
		f.up.Close()
		f.up, f.upbr, f.addr = nil, nil, ""
	}
	return !resp.Close
}

// roundTrip sends req upstream and reads the answer's header. A kept-alive
// upstream connection the target closed meanwhile is redialled once for a
// request without a body (nothing was answered, so nothing is repeated).
func (f *forwarder) roundTrip(s *session, req *http.Request, addr string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		reused := f.up != nil && f.addr == addr
		if !reused {
			up, r := s.dial(addr)
			if r != nil {
				return nil, r
			}
			f.up, f.upbr, f.addr = up, bufio.NewReaderSize(up, 4096), addr
		}
		err := req.Write(&meteredWriter{s: s, w: f.up, up: true})
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(f.upbr, req)
		}
		if err == nil {
			return resp, nil
		}
		var r *refusal
		if !reused || attempt > 0 || errors.As(err, &r) || (req.Body != nil && req.Body != http.NoBody) {
			return nil, err
		}
		f.up.Close()
		f.up, f.upbr, f.addr = nil, nil, ""
	}
}

// refuse answers a refused request; the connection then closes.
func (f *forwarder) refuse(user string, r *refusal) bool {
	f.g.logRefusal("http", f.ip, user, r)
	writeHTTPRefusal(f.client, r)
	return false
}

func (f *forwarder) upstreamFailed(user string, err error) bool {
	var r *refusal
	if errors.As(err, &r) {
		// A dial refusal, or a cut before anything was answered: the
		// client hears why.
		if f.s.cutReason() == "" || f.s.unanswered() {
			return f.refuse(user, r)
		}
		f.g.logRefusal("http", f.ip, user, r) // metering refused; the session is cut
		return false
	}
	if cut := f.s.cutReason(); cut != "" {
		if f.s.unanswered() {
			return f.refuse(user, refuse(cut, "connection was cut"))
		}
		return false
	}
	return f.refuse(user, refuse(reasonDialFailed, "target connection failed"))
}
