package gateway

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"time"
)

type listenMode int

const (
	modeSniff listenMode = iota // SOCKS5 or HTTP, told apart by the first byte
	modeHTTP
	modeSOCKS
)

type listener struct {
	net.Listener
	mode listenMode
}

// socksVersion is the first byte of every SOCKS5 greeting; no HTTP request
// line starts with it.
const socksVersion = 0x05

// serve accepts connections until the listener is closed.
func (g *Gateway) serve(l *listener) {
	defer g.loops.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			g.log.Warn("accept failed", "addr", l.Addr().String(), "err", err)
			time.Sleep(backoff)
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		g.mu.Lock()
		if g.closing {
			g.mu.Unlock()
			c.Close()
			return
		}
		g.conns.Add(1)
		g.mu.Unlock()
		go g.handle(c, l.mode)
	}
}

// handle serves one client connection.
func (g *Gateway) handle(c net.Conn, mode listenMode) {
	defer g.conns.Done()
	handedOff := false
	defer func() {
		if !handedOff {
			c.Close()
		}
	}()
	ip := remoteIP(c)
	c.SetReadDeadline(time.Now().Add(g.cfg.HandshakeTimeout))
	br := bufio.NewReaderSize(c, 4096)
	if mode == modeSniff {
		first, err := br.Peek(1)
		if err != nil {
			return
		}
		if first[0] == socksVersion {
			mode = modeSOCKS
		} else {
			mode = modeHTTP
		}
	}
	if mode == modeSOCKS {
		handedOff = g.serveSOCKS(c, br, ip)
	} else {
		handedOff = g.serveHTTP(c, br, ip)
	}
}

func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap.Addr().Unmap()
}

// logRefusal writes the one log line of a refused connection or request.
func (g *Gateway) logRefusal(proto string, ip netip.Addr, user string, r *refusal) {
	g.metrics.refused.WithLabelValues(r.Code).Inc()
	g.log.Info("connection refused", "protocol", proto, "client", ip.String(), "user", user,
		"reason", r.Code, "detail", r.Message)
}

// takeBuffered returns a copy of the bytes a bufio.Reader already read from
// the client beyond the handshake; they belong to the tunnel.
func takeBuffered(br *bufio.Reader) []byte {
	n := br.Buffered()
	if n == 0 {
		return nil
	}
	b, _ := br.Peek(n)
	out := append([]byte(nil), b...)
	br.Discard(n)
	return out
}

// startTunnel relays an established tunnel on fresh goroutines, so the
// stack the handshake grew (and everything it referenced) is freed while
// the tunnel idles. The connection now belongs to the tunnel.
func (g *Gateway) startTunnel(s *session, c, up net.Conn) bool {
	g.conns.Add(1) // the handler still holds one, so this never races Wait
	go func() {
		defer g.conns.Done()
		s.tunnel(c, up)
		s.end("closed")
	}()
	return true
}
