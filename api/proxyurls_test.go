package api_test

import (
	"net/url"
	"testing"

	"github.com/subgate/subgate"
)

func TestSubUserProxyURLs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.reseller("acme", 0)
	_, other := e.reseller("other", 0)
	var u struct{ ID int64 }
	e.call("POST", "/v1/subusers", tok, map[string]any{"username": "alice", "password": "p@ss/w#rd"}).expect(t, 201).into(t, &u)
	path := "/v1/subusers/" + itoa(u.ID) + "/proxy-urls"

	// Without a gateway there is nothing to connect to.
	e.call("GET", path, tok, nil).expectErr(t, 409, "conflict", "")
	e.svc.PublicGateway = subgate.GatewayAddress{HTTPPort: 3128, SOCKSPort: 1080}
	var got struct {
		Host       string
		HTTPPort   int `json:"http_port"`
		SOCKS5Port int `json:"socks5_port"`
		Username   string
		Password   string
		HTTP       string
		SOCKS5     string
	}
	e.call("GET", path+"?country=uk&session=abc123&ttl=30m", tok, nil).expect(t, 200).into(t, &got)
	srv, _ := url.Parse(e.srv.URL)
	host := srv.Hostname()
	if got.Host != host || got.HTTPPort != 3128 || got.SOCKS5Port != 1080 ||
		got.Username != "alice-country-gb-session-abc123-ttl-30m" || got.Password != "p@ss/w#rd" {
		t.Fatalf("proxy-urls: %+v", got)
	}
	for raw, scheme := range map[string]string{got.HTTP: "http", got.SOCKS5: "socks5h"} {
		pu, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		pw, _ := pu.User.Password()
		if pu.Scheme != scheme || pu.User.Username() != got.Username || pw != "p@ss/w#rd" || pu.Hostname() != host {
			t.Errorf("%q reads as %s %s:%s@%s", raw, pu.Scheme, pu.User.Username(), pw, pu.Host)
		}
	}
	// Targeting the gateway would refuse is refused here, naming it.
	e.call("GET", path+"?country=usa", tok, nil).expectErr(t, 400, "invalid", "country")
	e.call("GET", path+"?zone=us", tok, nil).expectErr(t, 400, "invalid", "zone")
	e.call("GET", path+"?session=a-b", tok, nil).expectErr(t, 400, "invalid", "session")
	// Another reseller's sub-user is 404.
	e.call("GET", path, other, nil).expectErr(t, 404, "not_found", "")
	// A configured host wins over the one the API was reached at.
	e.svc.PublicGateway.Host = "gw.example.com"
	e.call("GET", path, tok, nil).expect(t, 200).into(t, &got)
	if got.HTTP != "http://alice:p%40ss%2Fw%23rd@gw.example.com:3128" {
		t.Errorf("configured host: %q", got.HTTP)
	}
}
