package iproyal_test

import (
	"context"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

// publicGateway is the gateway address the tests' proxy lists point at.
var publicGateway = subgate.GatewayAddress{Host: "gw.example.net", HTTPPort: 3128, SOCKSPort: 1080}

// accessEnv is an installation with a public gateway and a sub-user whose
// password has characters a URL would choke on.
func accessEnv(t *testing.T) (*dialecttest.Env, *client, resource) {
	env := dialecttest.New(t)
	env.Svc.PublicGateway = publicGateway
	c := &client{env: env, token: env.Reseller.APIToken}
	resp := c.do(t, "POST", "/residential-subusers", `{"username":"carol","password":"pa@ss/w#rd","traffic":1}`)
	if resp.Status != 201 {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	return env, c, dialecttest.JSON[resource](t, resp)
}

// The SDK's proxy-list flow, request by request: every answer has
// IPRoyal's shape and the lines point at this gateway, with the targeting in
// IPRoyal's password syntax, which the gateway reads back.
func TestSDKProxyListFlow(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env, _, carol := accessEnv(t)
	vars := map[string]string{
		"token": env.Reseller.APIToken, "subuser_hash": carol.Hash,
		"subuser_username": carol.Username, "subuser_password": carol.Password,
	}
	sessionRE := regexp.MustCompile(`^[A-Za-z0-9]{8}$`)
	env.Replay(t, dialecttest.IPRoyal, "testdata/clients/sdk-proxy-list.json", vars, func(name string, resp dialecttest.Response) {
		if resp.Status != 200 {
			t.Fatalf("%s: %d %s", name, resp.Status, resp.Body)
		}
		switch name {
		case "me":
			s.CheckResponse(t, "GET", "/me", resp)
		case "entry-nodes":
			s.CheckResponse(t, "GET", "/access/entry-nodes", resp)
			if strings.TrimSpace(string(resp.Body)) != `[{"dns":"gw.example.net","ips":[],"ports":[{"name":"http|https","port":3128,"alternative_ports":[]},{"name":"socks5","port":1080,"alternative_ports":[]}]}]` {
				t.Errorf("entry-nodes: %s", resp.Body)
			}
		case "countries":
			s.CheckResponse(t, "GET", "/access/countries", resp)
			if !containsAll(string(resp.Body), `"prefix":"_country-"`, `{"code":"us","name":"United States","cities":{"prefix":"_city-","options":[]},"states":{"prefix":"_state-","options":[]}}`) {
				t.Errorf("countries: %.300s", resp.Body)
			}
		case "generate-sticky-socks5":
			s.CheckResponse(t, "POST", "/access/generate-proxy-list", resp)
			lines := dialecttest.JSON[[]string](t, resp)
			if len(lines) != 3 {
				t.Fatalf("%s: %s", name, resp.Body)
			}
			sessions := map[string]bool{}
			for _, l := range lines {
				parts := strings.SplitN(l, ":", 4)
				if len(parts) != 4 || parts[0] != "gw.example.net" || parts[1] != "1080" || parts[2] != "carol" {
					t.Fatalf("%s line %q", name, l)
				}
				pass, target := gatewayReads(t, parts[2], parts[3])
				if pass != carol.Password || target.Country != "us" || target.SessionTTL != 24*time.Hour || !sessionRE.MatchString(target.Session) {
					t.Errorf("%s line %q reads as %q %+v", name, l, pass, target)
				}
				sessions[target.Session] = true
			}
			if len(sessions) != 3 {
				t.Errorf("sticky lines share sessions: %v", lines)
			}
		case "generate-random-credentials":
			lines := dialecttest.JSON[[]string](t, resp)
			if len(lines) != 2 || lines[0] != "gw.example.net:3128@carol:pa@ss/w#rd_country-de_city-berlin" || lines[1] != lines[0] {
				t.Errorf("%s: %s", name, resp.Body)
			}
		case "generate-user-first":
			if lines := dialecttest.JSON[[]string](t, resp); len(lines) != 1 || lines[0] != "carol:pa@ss/w#rd@gw.example.net:3128" {
				t.Errorf("%s: %s", name, resp.Body)
			}
		}
	})
}

// gatewayReads parses proxy credentials as the gateway does.
func gatewayReads(t *testing.T, user, pass string) (string, subgate.Target) {
	t.Helper()
	u, p, target, err := subgate.ParseProxyCredentials(user, pass)
	if err != nil || u != "carol" {
		t.Fatalf("the gateway refuses %q %q: %v", user, pass, err)
	}
	return p, target
}

// A list in URL form carries the credentials percent-encoded.
func TestProxyListURLFormat(t *testing.T) {
	t.Parallel()
	_, c, carol := accessEnv(t)
	resp := c.do(t, "POST", "/access/generate-proxy-list", `{"format":"socks5h://{username}:{password}@{hostname}:{port}",
		"port":"socks5","proxy_count":1,"subuser_hash":"`+carol.Hash+`","location":"_country-us"}`)
	if lines := dialecttest.JSON[[]string](t, resp); len(lines) != 1 || lines[0] != "socks5h://carol:pa%40ss%2Fw%23rd_country-us@gw.example.net:1080" {
		t.Fatalf("URL format: %d %s", resp.Status, resp.Body)
	}
}

func TestProxyListBadInput(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env, c, carol := accessEnv(t)
	other := dialecttest.JSON[resource](t, (&client{env: env, token: env.NewReseller(t, "second", 1).APIToken}).do(t,
		"POST", "/residential-subusers", `{"username":"dave","password":"secret1"}`))
	ok := `"subuser_hash":"` + carol.Hash + `"`
	for _, tc := range []struct{ body, field string }{
		{`{` + ok + `,"proxy_count":1000000}`, "proxy_count"},
		{`{` + ok + `,"proxy_count":10001}`, "proxy_count"},
		{`{` + ok + `}`, "proxy_count"},
		{`{` + ok + `,"proxy_count":0}`, "proxy_count"},
		{`{` + ok + `,"proxy_count":1.5}`, "proxy_count"},
		{`{` + ok + `,"proxy_count":1,"port":"ftp"}`, "port"},
		{`{` + ok + `,"proxy_count":1,"rotation":"often"}`, "rotation"},
		{`{` + ok + `,"proxy_count":1,"rotation":"sticky","lifetime":"1h30m"}`, "lifetime"},
		{`{` + ok + `,"proxy_count":1,"rotation":"sticky","lifetime":"8d"}`, "lifetime"},
		{`{` + ok + `,"proxy_count":1,"lifetime":"30m"}`, "lifetime"},
		{`{` + ok + `,"proxy_count":1,"location":"_country-usa"}`, "location"},
		{`{` + ok + `,"proxy_count":1,"location":"country-us"}`, "location"},
		{`{` + ok + `,"proxy_count":1,"location":"_session-abcd1234"}`, "location"},
		{`{` + ok + `,"proxy_count":1,"format":"{hostname}:{port}:{user}"}`, "format"},
		{`{` + ok + `,"proxy_count":1,"format":"{username}:{password}"}`, "format"},
		{`{` + ok + `,"proxy_count":1,"hostname":"proxy.elsewhere.example"}`, "hostname"},
		{`{"proxy_count":1}`, "subuser_hash"},
		{`{"proxy_count":1,"subuser_hash":"` + other.Hash + `"}`, "subuser_hash"},
		{`{"proxy_count":1,"username":"carol"}`, "password"},
		{`{"proxy_count":1,"username":"carol","password":"wrong"}`, "password"},
		{`{"proxy_count":1,"username":"dave","password":"secret1"}`, "username"},
	} {
		resp := c.do(t, "POST", "/access/generate-proxy-list", tc.body)
		s.CheckResponse(t, "POST", "/access/generate-proxy-list", resp)
		m := dialecttest.CheckJSONError(t, resp, 422)
		if errs, _ := m["errors"].(map[string]any); errs[tc.field] == nil {
			t.Errorf("%s: want errors.%s: %s", tc.body, tc.field, resp.Body)
		}
	}
	// The limit itself is fine.
	if resp := c.do(t, "POST", "/access/generate-proxy-list", `{`+ok+`,"proxy_count":10000}`); len(dialecttest.JSON[[]string](t, resp)) != 10000 {
		t.Fatalf("10000 lines: %d", resp.Status)
	}
}

// Without a gateway there is no entry node and no list to make.
func TestAccessWithoutGateway(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	c := &client{env: env, token: env.Reseller.APIToken}
	if resp := c.do(t, "GET", "/access/entry-nodes", ""); resp.Status != 200 || strings.TrimSpace(string(resp.Body)) != "[]" {
		t.Fatalf("entry-nodes: %d %s", resp.Status, resp.Body)
	}
	created := dialecttest.JSON[resource](t, c.do(t, "POST", "/residential-subusers", `{"username":"carol","password":"secret1"}`))
	dialecttest.CheckJSONError(t, c.do(t, "POST", "/access/generate-proxy-list", `{"proxy_count":1,"subuser_hash":"`+created.Hash+`"}`), 422)
	for _, path := range []string{"/access/entry-nodes", "/access/countries"} {
		if resp := env.Do(t, "GET", env.URL(dialecttest.IPRoyal, "/v1"+path), ""); resp.Status != 401 {
			t.Errorf("%s without a token: %d", path, resp.Status)
		}
	}
}

type whitelistEntry struct {
	Hash          string
	IP            string
	Port          int
	Type          string
	Configuration string
	Note          *string
}

// The SDK's whitelist calls, request by request, land on the sub-user's
// client IP allow-list.
func TestSDKWhitelistFlow(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env, _, carol := accessEnv(t)
	vars := map[string]string{"token": env.Reseller.APIToken, "subuser_hash": carol.Hash, "http_port": "#3128"}
	const one = "/residential-users/{residential_user_hash}/whitelist-entries/{whitelist_entry_hash}"
	allowIPs := func() []netip.Prefix {
		u, err := env.Svc.SubUser(context.Background(), env.Admin, carol.Hash)
		if err != nil {
			t.Fatal(err)
		}
		return u.AllowIPs
	}
	var created whitelistEntry
	env.Replay(t, dialecttest.IPRoyal, "testdata/clients/sdk-whitelist.json", vars, func(name string, resp dialecttest.Response) {
		switch name {
		case "create":
			s.CheckResponse(t, "POST", "/residential-users/{residential_user_hash}/whitelist-entries", resp)
			created = dialecttest.JSON[whitelistEntry](t, resp)
			if resp.Status != 201 || created.IP != "203.0.113.7" || created.Port != 3128 || created.Type != "http|https" || created.Configuration != "" {
				t.Fatalf("create: %d %s", resp.Status, resp.Body)
			}
			if got := allowIPs(); !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("203.0.113.7/32")}) {
				t.Fatalf("allow_ips after create: %v", got)
			}
			vars["entry_hash"] = created.Hash
		case "list":
			s.CheckResponse(t, "GET", "/residential-users/{residential_user_hash}/whitelist-entries", resp)
			page := dialecttest.JSON[struct {
				Data []whitelistEntry
				Meta struct{ Total int }
			}](t, resp)
			if len(page.Data) != 1 || page.Data[0].Hash != created.Hash || page.Meta.Total != 1 {
				t.Fatalf("list: %s", resp.Body)
			}
		case "get", "update":
			s.CheckResponse(t, map[string]string{"get": "GET", "update": "PUT"}[name], one, resp)
			if got := dialecttest.JSON[whitelistEntry](t, resp); resp.Status != 200 || got.Hash != created.Hash || got.IP != created.IP {
				t.Fatalf("%s: %d %s", name, resp.Status, resp.Body)
			}
		case "delete":
			s.CheckResponse(t, "DELETE", one, resp)
			if resp.Status != 204 || len(allowIPs()) != 0 {
				t.Fatalf("delete: %d %s, allow_ips %v", resp.Status, resp.Body, allowIPs())
			}
		}
	})
}

func TestWhitelistBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env, c, carol := accessEnv(t)
	base := "/residential-users/" + carol.Hash + "/whitelist-entries"
	entry := dialecttest.JSON[whitelistEntry](t, c.do(t, "POST", base, `{"ip":"198.51.100.0/24","port":1080}`))
	me := dialecttest.JSON[struct {
		Hash string `json:"residential_user_hash"`
	}](t, c.do(t, "GET", "/me", ""))
	other := &client{env: env, token: env.NewReseller(t, "second", 1).APIToken}
	port := strconv.Itoa(publicGateway.HTTPPort)
	for _, tc := range []struct {
		c                  *client
		method, path, body string
		status             int
		field              string
	}{
		{c, "POST", base, `{"port":` + port + `}`, 422, "ip"},
		{c, "POST", base, `{"ip":"not-an-ip","port":` + port + `}`, 422, "ip"},
		{c, "POST", base, `{"ip":"10.0.0.0/8","port":` + port + `}`, 422, "ip"},
		{c, "POST", base, `{"ip":"198.51.100.0/24","port":` + port + `}`, 422, "ip"},
		{c, "POST", base, `{"ip":"203.0.113.9"}`, 422, "port"},
		{c, "POST", base, `{"ip":"203.0.113.9","port":9999}`, 422, "port"},
		{c, "POST", base, `{"ip":"203.0.113.9","port":` + port + `,"configuration":"_country-br_streaming-1"}`, 422, "configuration"},
		{c, "POST", base, `{"ip":"203.0.113.9","port":` + port + `,"configuration":"_colour-red"}`, 422, "configuration"},
		{c, "POST", base, `{"ip":"203.0.113.9","port":` + port + `,"configuration":"_country-br"}`, 422, "configuration"},
		{c, "PUT", base + "/" + entry.Hash, `{"configuration":"_country-br"}`, 422, "configuration"},
		{c, "GET", base + "/01HQ5K3P97DY8EX9Y90YT1K6XA", "", 404, ""},
		{c, "DELETE", base + "/01HQ5K3P97DY8EX9Y90YT1K6XA", "", 404, ""},
		{c, "GET", "/residential-users/" + me.Hash + "/whitelist-entries", "", 404, ""},
		{c, "POST", "/residential-users/01HQ5K3P97DY8EX9Y90YT1K6XA/whitelist-entries", `{"ip":"203.0.113.9","port":` + port + `}`, 404, ""},
		{other, "GET", base, "", 404, ""},
		{other, "POST", base, `{"ip":"203.0.113.9","port":` + port + `}`, 404, ""},
		{other, "DELETE", base + "/" + entry.Hash, "", 404, ""},
	} {
		resp := tc.c.do(t, tc.method, tc.path, tc.body)
		m := dialecttest.CheckJSONError(t, resp, tc.status)
		if errs, _ := m["errors"].(map[string]any); tc.field != "" && errs[tc.field] == nil {
			t.Errorf("%s %s %s: want errors.%s: %s", tc.method, tc.path, tc.body, tc.field, resp.Body)
		}
		if tc.c == c && strings.HasPrefix(tc.path, base) {
			template := "/residential-users/{residential_user_hash}/whitelist-entries"
			if tc.path != base {
				template += "/{whitelist_entry_hash}"
			}
			s.CheckResponse(t, tc.method, template, resp)
		}
	}
	u, _ := env.Svc.SubUser(context.Background(), env.Admin, carol.Hash)
	if !slices.Equal(u.AllowIPs, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}) {
		t.Fatalf("allow_ips changed: %v", u.AllowIPs)
	}
}

// The SDK's other way to send the token, X-Access-Token, with or without
// "Bearer "; a wrong Authorization is not rescued by it.
func TestXAccessToken(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	url := env.URL(dialecttest.IPRoyal, "/v1/me")
	for _, tok := range []string{env.Reseller.APIToken, "Bearer " + env.Reseller.APIToken} {
		if resp := env.Do(t, "GET", url, "", "X-Access-Token", tok); resp.Status != 200 {
			t.Errorf("X-Access-Token %q: %d %s", tok, resp.Status, resp.Body)
		}
	}
	for _, h := range [][]string{
		{"X-Access-Token", "sgr_wrong"},
		{"Authorization", "Basic dXNlcjpwYXNz", "X-Access-Token", env.Reseller.APIToken},
	} {
		if resp := env.Do(t, "GET", url, "", h...); resp.Status != 401 {
			t.Errorf("%v: %d %s", h, resp.Status, resp.Body)
		}
	}
}

// A gateway serving HTTP and SOCKS5 on one port names that port once when
// a whitelist entry asks for another.
func TestWhitelistPortErrorNamesOnePort(t *testing.T) {
	t.Parallel()
	env, c, carol := accessEnv(t)
	env.Svc.PublicGateway = subgate.GatewayAddress{Host: "gw.example.net", HTTPPort: 3128, SOCKSPort: 3128}
	resp := c.do(t, "POST", "/residential-users/"+carol.Hash+"/whitelist-entries", `{"ip":"203.0.113.9","port":9999}`)
	if resp.Status != 422 || !strings.Contains(string(resp.Body), "(3128)") {
		t.Fatalf("got %d %s; want 422 naming port 3128 once", resp.Status, resp.Body)
	}
}
