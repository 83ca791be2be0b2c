package route

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// connectHTTP asks the HTTP proxy at the other end of conn to open a tunnel
// to target (CONNECT), authenticating with Basic credentials when user is
// set. On success the returned conn carries the tunnel; conn itself is
// returned unwrapped unless the proxy sent tunnel bytes along with its answer,
// so the gateway keeps its zero-copy path.
func connectHTTP(ctx context.Context, conn net.Conn, target, user, pass string) (net.Conn, error) {
	stop := bindDeadline(ctx, conn)
	defer stop()
	var req strings.Builder
	fmt.Fprintf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)
	if user != "" || pass != "" {
		cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		fmt.Fprintf(&req, "Proxy-Authorization: Basic %s\r\n", cred)
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return nil, ctxErr(ctx, err)
	}
	// Read the answer a byte at a time so no tunnel byte that follows it in
	// the same segment is taken into a buffer: the tunnel stays the raw
	// connection. An answer is a few dozen bytes, read once per connection.
	br := bufio.NewReaderSize(byteReader{conn}, 64)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("reading CONNECT answer: %w", err))
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, &RefusedError{Status: resp.StatusCode, Reason: resp.Status}
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// bindDeadline makes blocking I/O on conn end when ctx does (deadline or
// cancellation) until stop is called; stop clears the deadline again.
func bindDeadline(ctx context.Context, conn net.Conn) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	cancel := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		cancel()
		conn.SetDeadline(time.Time{})
	}
}

// ctxErr prefers the context's error when the context ended an operation.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctxDone(ctx); cerr != nil {
		return cerr
	}
	return err
}

// ctxDone is ctx.Err(), also when the deadline has passed but the context's
// timer has not fired yet (an I/O deadline set from it can expire first).
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// byteReader reads at most one byte per call.
type byteReader struct{ r io.Reader }

func (b byteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return b.r.Read(p)
}

// bufferedConn replays bytes read ahead of the tunnel before reading on.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(p)
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the underlying connection when it can.
func (c *bufferedConn) CloseWrite() error { return closeWrite(c.Conn) }

// NetConn returns the underlying connection.
func (c *bufferedConn) NetConn() net.Conn { return c.Conn }
