package route

import (
	"context"
	"net"
	"strings"

	"golang.org/x/net/proxy"
)

// connectSOCKS5 opens a tunnel to target through the SOCKS5 proxy at addr,
// reaching the proxy with forward (the previous hop of a chain, or a plain
// dial). Credentials use RFC 1929 username/password when user is set.
func connectSOCKS5(ctx context.Context, forward dialFunc, addr, target, user, pass string) (net.Conn, error) {
	var auth *proxy.Auth
	if user != "" || pass != "" {
		auth = &proxy.Auth{User: user, Password: pass}
	}
	// Keep the connection to the proxy: x/net wraps it only to carry the
	// bound address, and the raw *net.TCPConn keeps the gateway's splice path.
	var raw net.Conn
	keep := dialFunc(func(ctx context.Context, network, a string) (net.Conn, error) {
		c, err := forward(ctx, network, a)
		raw = c
		return c, err
	})
	d, err := proxy.SOCKS5("tcp", addr, auth, keep)
	if err != nil {
		return nil, err
	}
	if _, err := d.(proxy.ContextDialer).DialContext(ctx, "tcp", target); err != nil {
		return nil, classifySOCKS(ctx, err)
	}
	return raw, nil
}

// SOCKS5 replies that say the proxy worked but the target could not be
// reached (RFC 1928 §6); x/net reports them only as text.
var socksTargetReplies = []string{"network unreachable", "host unreachable", "connection refused", "TTL expired", "connection not allowed by ruleset"}

func classifySOCKS(ctx context.Context, err error) error {
	if cerr := ctxDone(ctx); cerr != nil {
		return cerr
	}
	msg := err.Error()
	for _, r := range socksTargetReplies {
		if strings.Contains(msg, "unknown error "+r) {
			return &RefusedError{Status: 502, Reason: "socks5: " + r}
		}
	}
	return err
}
