package gateway

import (
	"io"
	"net"
)

// Handshake bytes (a CONNECT request and its 200, a SOCKS5 greeting,
// authentication, request and the replies) cross between client and gateway
// before there is a session to charge. They are counted as they pass, off
// the copy path, and charged once the session is admitted and its target
// dialled, just before the answer that opens the tunnel is written.

// countingReader counts the bytes read through it. It sits under the
// handshake's bufio.Reader: what the handshake consumed is n minus what
// that reader still buffers.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// countingWriter counts the bytes of the handshake answers written to the
// client before a session exists.
type countingWriter struct {
	net.Conn
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n += int64(n)
	return n, err
}

// chargeHandshake books in bytes the client sent and out bytes it was or
// is about to be answered, in reserved steps. A refusal means the budget
// ran out before every byte was charged; the tunnel must not open.
func (s *session) chargeHandshake(in, out int64) *refusal {
	for _, d := range []struct {
		n  int64
		up bool
	}{{in, true}, {out, false}} {
		for left := d.n; left > 0; {
			b, n, r := s.reserve(min(left, stepMax))
			if r != nil {
				return r
			}
			s.settle(b, n, n)
			s.count(n, d.up)
			s.report(n, d.up)
			left -= n
		}
	}
	return nil
}
