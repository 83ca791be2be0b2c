package route

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/route/routetest"
)

func TestRefusalsReadAsGatewayReasonsAndDomainErrors(t *testing.T) {
	r := newRouter(t, Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{
		"stc": {Kind: KindStatic, Static: []StaticEgress{{Address: "127.0.0.5", Country: "us"}}},
	}}, Options{})
	for _, tc := range []struct {
		target      subgate.Target
		reason, err string
	}{
		{subgate.Target{Product: "mob"}, subgate.ReasonNoProduct, subgate.EINVALID},
		{subgate.Target{Product: "stc", Country: "jp"}, ReasonNoEgress, subgate.EINSUFFICIENT},
	} {
		_, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Target: tc.target, Address: "127.0.0.1:1"})
		var ref *subgate.Refusal
		if !errors.As(err, &ref) || ref.Code != tc.reason || ref.Message == "" {
			t.Errorf("%+v: refusal %+v from %v, want %s", tc.target, ref, err, tc.reason)
		}
		if subgate.ErrorCode(err) != tc.err {
			t.Errorf("%+v: code %s, want %s", tc.target, subgate.ErrorCode(err), tc.err)
		}
	}
}

// The gateway splices between two *net.TCPConn, so routes that need no
// connection tracking hand back the raw connection.
func TestConnectionsStayRawTCP(t *testing.T) {
	o := startOrigin(t)
	httpUp := routetest.StartUpstream(t, "127.0.0.1", false)
	socksUp := routetest.StartUpstream(t, "127.0.0.1", true)
	for name, cfg := range map[string]Config{
		"direct": {AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"res": {Kind: KindDirect, SourceAddrs: []string{"127.0.0.2"}}}},
		"http":   upstreamConfig("res", Upstream{Proxy: Proxy{Address: httpUp.Addr()}}),
		"socks5": upstreamConfig("res", Upstream{Proxy: Proxy{Protocol: "socks5", Address: socksUp.Addr(), Username: "u", Password: "p"}}),
		"chain":  upstreamConfig("res", Upstream{Proxy: Proxy{Protocol: "socks5", Address: socksUp.Addr()}, Via: []Proxy{{Address: httpUp.Addr()}}}),
	} {
		c, err := newRouter(t, cfg, Options{}).Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: o.addr()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := c.(*net.TCPConn); !ok {
			t.Errorf("%s route returned %T", name, c)
		}
		greeting(t, c)
		c.Close()
	}
}

func TestTrackedConnectionHalfCloses(t *testing.T) {
	o := startOrigin(t)
	up := routetest.StartUpstream(t, "127.0.0.1", false)
	cfg := upstreamConfig("res", Upstream{Proxy: Proxy{Address: up.Addr()}})
	rc := cfg.Routes["res"]
	rc.Pick = PickLeastConn
	cfg.Routes["res"] = rc
	c, err := newRouter(t, cfg, Options{}).Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: o.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(interface{ NetConn() net.Conn }); !ok {
		t.Fatalf("tracked connection %T does not expose NetConn", c)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	// io.Copy goes through the wrapper's ReadFrom and WriteTo.
	if n, err := io.Copy(c, strings.NewReader("last words\n")); err != nil || n != 11 {
		t.Fatalf("copy to the tunnel: %d, %v", n, err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	// The origin echoes what it got, sees our EOF and closes: everything
	// arrives before the EOF.
	if br.Buffered() != 0 {
		t.Fatal("greeting read ahead")
	}
	var rest strings.Builder
	if _, err := io.Copy(&rest, c); err != nil || rest.String() != "last words\n" {
		t.Errorf("after half-close read %q, %v", rest.String(), err)
	}
}

func TestTunnelBytesSentWithTheConnectAnswerAreKept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		http.ReadRequest(bufio.NewReader(c))
		// A server-first protocol: the banner follows the answer in one write.
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n220 banner\n")
		time.Sleep(100 * time.Millisecond)
	}()
	r := newRouter(t, upstreamConfig("res", Upstream{Proxy: Proxy{Address: ln.Addr().String()}}), Options{})
	c, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Address: "example.test:25"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "220 banner\n" {
		t.Errorf("read %q, %v", line, err)
	}
}

func TestDirectFromIPv6Source(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer ln.Close()
	from := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		c.Close()
	}()
	r := newRouter(t, Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"dc": {Kind: KindDirect, SourceAddrs: []string{"::1"}}}}, Options{})
	var a admits
	c, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "dc"}, Address: ln.Addr().String(), Admit: a.admit})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := <-from; got != "::1" {
		t.Errorf("origin saw %s", got)
	}
	if keys := a.list(); len(keys) != 1 || keys[0] != "::1" {
		t.Errorf("admitted %v", keys)
	}
}
