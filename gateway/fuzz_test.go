package gateway

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"testing"

	"github.com/subgate/subgate"
)

// FuzzSOCKS5Handshake feeds arbitrary bytes to the SOCKS5 greeting,
// RFC 1929 and request parsers in the order a client sends them.
func FuzzSOCKS5Handshake(f *testing.F) {
	f.Add([]byte("\x05\x01\x02\x01\x05alice\x0apw-secret1\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"))
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x03\x0bexample.com\x01\xbb"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		methods, err := readSocksGreeting(r)
		if err != nil {
			return
		}
		if len(methods) == 0 {
			t.Fatal("greeting without methods accepted")
		}
		if bytes.IndexByte(methods, socksMethodUserPass) >= 0 {
			user, pass, err := readSocksUserPass(r)
			if err != nil {
				return
			}
			if len(user) > 255 || len(pass) > 255 {
				t.Fatal("oversized credentials")
			}
		}
		addr, err := readSocksRequest(r)
		if err != nil {
			return
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			t.Fatalf("request address %q: %v", addr, err)
		}
	})
}

// FuzzHTTPProxyRequest feeds arbitrary bytes to the proxy request reader.
func FuzzHTTPProxyRequest(f *testing.F) {
	f.Add([]byte("GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nProxy-Authorization: Basic YWxpY2U6cHc=\r\nConnection: keep-alive, X-Foo\r\nX-Foo: 1\r\n\r\n"))
	f.Add([]byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := readProxyRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		if req.Method == http.MethodConnect {
			if _, port, err := net.SplitHostPort(req.Host); err != nil || port == "" {
				t.Fatalf("CONNECT target %q accepted", req.Host)
			}
		} else if !req.URL.IsAbs() || req.URL.Scheme != "http" || req.URL.Host == "" {
			t.Fatalf("non-proxy request %q accepted", req.URL)
		}
		proxyAuth(req.Header)
		removeHopHeaders(req.Header)
		for _, h := range hopHeaders {
			if req.Header.Get(h) != "" {
				t.Fatalf("hop-by-hop header %s kept", h)
			}
		}
	})
}

// FuzzParseProxyCredentials feeds arbitrary usernames and passwords, in
// every provider's syntax, to the targeting parameter parser.
func FuzzParseProxyCredentials(f *testing.F) {
	f.Add("alice-country-us-session-abc123-ttl-10m", "secret_country-us_session-abcd1234_lifetime-10m")
	f.Add("bob", "pw")
	f.Add("carol-res_sc-us_california_losangeles-sid-123456", "pw")
	f.Add("carol-dc-uk", "pw_streaming-1_region-europe")
	f.Add("customer-carol-cc-US-st-us_california-sessid-x-sesstime-10", "pw")
	f.Add("carol-country-es-sst-30-ssid-es01", "pw")
	f.Fuzz(func(t *testing.T, user, pass string) {
		u, p, tg, err := subgate.ParseProxyCredentials(user, pass)
		if err != nil {
			if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if u == "" || p == "" {
			t.Fatal("empty username or password accepted")
		}
		// The gateway looks the sub-user up by the same name it parses.
		// and the password it parses proves itself, settings included.
		if name := subgate.ProxyUsername(user); name != u {
			t.Fatalf("lookup %q, parsed %q", name, u)
		}
		if _, ok := subgate.MatchProxyPassword(p, pass); !ok {
			t.Fatalf("parsed password %q does not prove %q", p, pass)
		}
		if tg.SessionTTL != 0 && (tg.SessionTTL < subgate.MinSessionTTL || tg.SessionTTL > subgate.MaxSessionTTL) {
			t.Fatalf("ttl out of range: %v", tg.SessionTTL)
		}
		if len(tg.Session) > 64 || (tg.Country != "" && len(tg.Country) != 2) {
			t.Fatalf("bad target accepted: %+v", tg)
		}
	})
}
