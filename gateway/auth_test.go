package gateway_test

import (
	"io"
	"testing"

	"github.com/subgate/subgate"
)

// A password may hold '_' ("pass_123"); only "_word-" starts settings.
func TestPasswordWithUnderscoreAuthenticates(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) {
		c.Password = "pass_123"
	})
	for _, pass := range []string{"pass_123", "pass_123_country-us"} {
		c, bad := e.connect("alice", pass, e.origin.addr)
		if bad != nil {
			t.Fatalf("HTTP CONNECT with %q refused: %d %s", pass, bad.StatusCode, bad.Header.Get("X-Subgate-Error"))
		}
		c.Close()
		resp, err := socksClient(t, e.gw.ProxyAddr().String(), "alice", pass).Get("http://" + e.origin.addr + "/bytes?n=10")
		if err != nil {
			t.Fatalf("SOCKS5 with %q: %v", pass, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The prefix before the '_' alone is not the password.
	if _, bad := e.connect("alice", "pass", e.origin.addr); bad == nil || bad.Header.Get("X-Subgate-Error") != subgate.ReasonAuth {
		t.Fatalf("password prefix accepted: %+v", bad)
	}
}
