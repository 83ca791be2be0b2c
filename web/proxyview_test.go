package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

// The ready curl lines carry the password percent-encoded, so characters
// that end a URL's user part cannot break them, and use the public address.
func TestCurlLinesPercentEncodeThePassword(t *testing.T) {
	e := newEnv(t)
	e.svc.PublicGateway = subgate.GatewayAddress{Host: "gw.example.net", HTTPPort: 8000, SOCKSPort: 1080}
	r := e.reseller("Acme", "ops@acme.test", "right-password", subgate.BytesPerGB)
	const password = "p@ss/w#rd?'x"
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice", Password: password})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	detail := b.get("/dashboard/subusers/" + u.Hash)
	for id, want := range map[string]struct{ scheme, port string }{
		"cred-curl": {"http", "8000"}, "cred-socks": {"socks5h", "1080"},
	} {
		line := text(byID(detail.doc, id))
		quoted, ok := strings.CutPrefix(line, "curl -x '")
		quoted, ok2 := strings.CutSuffix(quoted, "' https://example.com/")
		if !ok || !ok2 {
			t.Fatalf("%s: %q", id, line)
		}
		raw := strings.ReplaceAll(quoted, `'\''`, "'")
		parsed, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %q does not parse: %v", id, raw, err)
		}
		pw, _ := parsed.User.Password()
		if parsed.Scheme != want.scheme || parsed.User.Username() != "alice" || pw != password ||
			parsed.Hostname() != "gw.example.net" || parsed.Port() != want.port {
			t.Errorf("%s: %q reads as %s %s:%s@%s", id, raw, parsed.Scheme, parsed.User.Username(), pw, parsed.Host)
		}
	}
	if got := text(byID(detail.doc, "cred-http-port")) + "/" + text(byID(detail.doc, "cred-socks-port")); got != "8000/1080" {
		t.Errorf("ports shown: %q", got)
	}
}
