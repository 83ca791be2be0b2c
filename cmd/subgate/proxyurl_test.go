package main

import (
	"context"
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

func TestCLIProxyURL(t *testing.T) {
	t.Parallel()
	env := serveEnv(t)
	env["SUBGATE_PUBLIC_PROXY"] = "gw.example.com:8000:1080"
	s := startServe(t, env)
	tok := acmeWithAlice(t, s)
	s.ok(t, tok, "subuser", "passwd", "alice", "p@ss/w#rd")

	if got := strings.TrimSpace(s.ok(t, tok, "subuser", "proxy-url", "alice")); got != "http://alice:p%40ss%2Fw%23rd@gw.example.com:8000" {
		t.Errorf("proxy-url: %q", got)
	}
	got := strings.TrimSpace(s.ok(t, tok, "subuser", "proxy-url", "alice", "--country", "us", "--session", "abc123", "--ttl", "30m", "--socks"))
	if got != "socks5h://alice-country-us-session-abc123-ttl-30m:p%40ss%2Fw%23rd@gw.example.com:1080" {
		t.Errorf("proxy-url --socks: %q", got)
	}
	// Targeting the gateway would refuse fails here, naming the flag's parameter.
	if _, errOut, code := s.cli(t, tok, "subuser", "proxy-url", "alice", "--country", "usa"); code == 0 || !strings.Contains(errOut, "country") {
		t.Errorf("bad country: exit %d: %s", code, errOut)
	}
}

// Without public_proxy the public address comes from the gateway's listen
// addresses; what public_proxy leaves out too.
func TestPublicGatewaySetting(t *testing.T) {
	for _, tc := range []struct {
		cfg  config
		want subgate.GatewayAddress
	}{
		{config{ProxyAddr: ":3128"}, subgate.GatewayAddress{HTTPPort: 3128, SOCKSPort: 3128}},
		{config{ProxyAddr: ":3128", PublicProxy: "gw.example.com"}, subgate.GatewayAddress{Host: "gw.example.com", HTTPPort: 3128, SOCKSPort: 3128}},
		{config{HTTPProxyAddr: "127.0.0.1:8000", SOCKSAddr: "127.0.0.1:1080"}, subgate.GatewayAddress{Host: "127.0.0.1", HTTPPort: 8000, SOCKSPort: 1080}},
		{config{ProxyAddr: ":3128", PublicProxy: "gw:80:0"}, subgate.GatewayAddress{Host: "gw", HTTPPort: 80}},
	} {
		if got, err := tc.cfg.publicGateway(); err != nil || got != tc.want {
			t.Errorf("%+v: %+v, %v; want %+v", tc.cfg, got, err, tc.want)
		}
	}
	if _, err := (config{PublicProxy: "gw:http"}).publicGateway(); err == nil || !strings.Contains(err.Error(), "public_proxy") {
		t.Errorf("bad public_proxy: %v", err)
	}
}

// public_proxy comes from the flag, else the environment, else the file.
func TestPublicProxyPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "subgate.yaml", "public_proxy: file.example:1\n")
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--config", file}, "file.example:1"},
		{map[string]string{"SUBGATE_PUBLIC_PROXY": "env.example:2"}, []string{"--config", file}, "env.example:2"},
		{map[string]string{"SUBGATE_PUBLIC_PROXY": "env.example:2"}, []string{"--config", file, "--public-proxy", "flag.example:3"}, "flag.example:3"},
	} {
		c, err := loadTestConfig(t, tc.env, tc.args...)
		if err != nil || c.PublicProxy != tc.want {
			t.Errorf("%v %v: %q %v, want %q", tc.env, tc.args, c.PublicProxy, err, tc.want)
		}
	}
}

// serve refuses a public_proxy it cannot read, naming the setting.
func TestServeRefusesABadPublicProxy(t *testing.T) {
	t.Parallel()
	env := serveEnv(t)
	env["SUBGATE_PUBLIC_PROXY"] = "gw.example.com:http"
	var out, errOut syncBuffer
	a := &app{stdout: &out, stderr: &errOut, getenv: mapEnv(env)}
	if code := a.main(context.Background(), []string{"serve", "--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0"}); code == 0 || !strings.Contains(errOut.String(), "public_proxy") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
}
