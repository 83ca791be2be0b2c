package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var gatewayListeningRE = regexp.MustCompile(`msg="gateway listening"[^\n]* addrs="?\[([^\]\s]+)\]`)

// proxyAddrOf waits for the gateway of s to log the address it listens on
// (it is given port 0, so no port has to be guessed free).
func proxyAddrOf(t *testing.T, s *server) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := gatewayListeningRE.FindStringSubmatch(s.stderr.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not report its address: %s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serve wires everything into one process: a sub-user made with the CLI
// proxies through the gateway, its usage shows up in the API, the dialects
// answer under their prefixes and /metrics reports the gateway.
func TestServeRunsGatewayDialectsAndMetrics(t *testing.T) {
	t.Parallel()
	payload := bytes.Repeat([]byte("x"), 100_000)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(payload) }))
	defer origin.Close()

	// The origin is on loopback, which routes refuse unless told otherwise.
	routes := filepath.Join(t.TempDir(), "routes.json")
	if err := os.WriteFile(routes, []byte(`{"allow_private_targets":true,"routes":{"res":{"kind":"direct"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, serveEnv(t), "--routes", routes)
	proxyAddr := proxyAddrOf(t, s)
	s.ok(t, testAdminToken, "reseller", "create", "Acme", "--email", "ops@acme.test", "--password", "acme-login-1")
	s.ok(t, testAdminToken, "reseller", "credit", "1", "1GB")
	tok := strings.TrimSpace(s.ok(t, testAdminToken, "reseller", "token", "1"))
	s.ok(t, tok, "subuser", "create", "alice", "--password", "alicepw1", "--traffic", "res=10MB")

	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("alice-country-us", "alicepw1"), Host: proxyAddr}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}, Timeout: 10 * time.Second}
	resp, err := client.Get(origin.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != len(payload) {
		t.Fatalf("through the gateway: %d, %d bytes", resp.StatusCode, len(body))
	}

	// Metered usage reaches the API within a second or two; the bound is
	// generous for a loaded machine.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var u struct {
			Traffic map[string]struct{ Used int64 } `json:"traffic"`
		}
		if err := json.Unmarshal([]byte(s.ok(t, tok, "subuser", "show", "alice", "--output", "json")), &u); err != nil {
			t.Fatal(err)
		}
		if used := u.Traffic["res"].Used; used >= int64(len(payload)) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("used %d after the download, want at least %d", used, len(payload))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A wrong password is refused with a reason.
	bad := &url.URL{Scheme: "http", User: url.UserPassword("alice", "wrong-pw"), Host: proxyAddr}
	resp, err = (&http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(bad)}}).Get(origin.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusProxyAuthRequired || resp.Header.Get("Proxy-Authenticate") == "" {
		t.Fatalf("wrong password: %d %v", resp.StatusCode, resp.Header)
	}

	// The dialects sit under their prefixes on the API port.
	login, err := http.Post(s.url+"/netnut/v1/auth/login", "application/json",
		strings.NewReader(`{"email":"ops@acme.test","password":"acme-login-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var lr struct {
		Success bool
		Token   string
	}
	json.NewDecoder(login.Body).Decode(&lr)
	login.Body.Close()
	if !lr.Success || lr.Token == "" {
		t.Fatalf("netnut login: %d %+v", login.StatusCode, lr)
	}
	req, _ := http.NewRequest("GET", s.url+"/iproyal/v1/residential-subusers?search=ali", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	ipr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(ipr.Body)
	ipr.Body.Close()
	if ipr.StatusCode != 200 || !strings.Contains(string(b), `"username":"alice"`) {
		t.Fatalf("iproyal list: %d %s", ipr.StatusCode, b)
	}
	nine, err := http.Get(s.url + "/9proxy/client/v1/user-passes/get-list?api-key=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(nine.Body)
	nine.Body.Close()
	if nine.StatusCode != 200 || !strings.Contains(string(b), `"user_name":"alice"`) {
		t.Fatalf("9proxy list: %d %s", nine.StatusCode, b)
	}

	// The admin API manages the gateway's router.
	req, _ = http.NewRequest("GET", s.url+"/v1/routes", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	rr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(rr.Body)
	rr.Body.Close()
	if rr.StatusCode != 200 || !strings.Contains(string(b), `"allow_private_targets":true`) {
		t.Fatalf("routes: %d %s", rr.StatusCode, b)
	}

	m, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(m.Body)
	m.Body.Close()
	if m.StatusCode != 200 || !strings.Contains(string(b), "subgate_") {
		t.Fatalf("metrics: %d %.300s", m.StatusCode, b)
	}
}

// A gateway node has no API port: its metrics listener answers the
// liveness probe, asking nothing of the database.
func TestGatewayNodeAnswersLivenessOnItsMetricsAddress(t *testing.T) {
	t.Parallel()
	s := runGateway(t, map[string]string{"SUBGATE_DB": filepath.Join(t.TempDir(), "subgate.db")}, "--metrics-addr", "127.0.0.1:0")
	re := regexp.MustCompile(`msg=listening component=metrics addr=(\S+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(s.stderr.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("the metrics listener did not report its address: %s", s.stderr)
		}
	}
	for path, want := range map[string]int{"/healthz": 200, "/metrics": 200, "/v1/subusers": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (path == "/healthz" && string(body) != "{\"status\":\"ok\"}\n") {
			t.Errorf("GET %s: %d %q, want %d", path, resp.StatusCode, body, want)
		}
	}
}
