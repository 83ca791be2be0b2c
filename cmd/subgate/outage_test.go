package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/faultproxy"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
)

// storeAnswer bounds how long a request may take while the database is
// down: the store timeout of these tests (1 s) plus generous room for a
// loaded machine under the race detector.
const storeAnswer = 6 * time.Second

// reply is one HTTP answer of the server.
type reply struct {
	status int
	header http.Header
	body   string
	took   time.Duration
}

func call(t *testing.T, method, u, token, body string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b), took: time.Since(start)}
}

// dashboardSignIn signs in to the dashboard as the admin, as a browser
// does: the login form first, for its CSRF token, then the form's POST.
func dashboardSignIn(t *testing.T, base string) reply {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(base + "/dashboard/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page (%d)", resp.StatusCode)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	start := time.Now()
	resp, err = c.PostForm(base+"/dashboard/login", url.Values{"csrf": {string(m[1])}, "mode": {"admin"}, "token": {testAdminToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b), took: time.Since(start)}
}

// unavailable requires a 503 with Retry-After within storeAnswer whose
// body holds want (the edge's own envelope).
func (r reply) unavailable(t *testing.T, what, want string) {
	t.Helper()
	first, _, _ := strings.Cut(strings.TrimSpace(r.body), "\n")
	t.Logf("%s while the database is down: %d after %v: %s", what, r.status, r.took.Round(time.Millisecond), first)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("%s: %d (Retry-After %q), want 503 with Retry-After", what, r.status, r.header.Get("Retry-After"))
	}
	if !strings.Contains(r.body, want) {
		t.Errorf("%s: body %s, want it to hold %s", what, r.body, want)
	}
	if r.took > storeAnswer {
		t.Errorf("%s answered after %v, want within %v", what, r.took, storeAnswer)
	}
}

// A "subgate serve" whose PostgreSQL hangs or refuses answers every API,
// dialect and dashboard request with 503 and Retry-After within its store
// deadline, stays alive (/healthz) but not ready (/readyz), and serves
// again once the database is back, without a restart; a give retried with
// its Idempotency-Key across the outage is applied once.
func TestServeThroughADatabaseOutage(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	key := strings.Repeat("ab", 32)
	tok, alice := outageSetUp(t, schema, key)
	u, _ := url.Parse(schema)
	fault, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fault.Close() })
	u.Host = fault.Addr()
	srv := startServe(t, map[string]string{
		"SUBGATE_DB":            u.String(),
		"SUBGATE_SECRET_KEY":    key,
		"SUBGATE_ADMIN_TOKEN":   testAdminToken,
		"SUBGATE_STORE_TIMEOUT": "1s",
	})
	// Registered after startServe's: runs first, so serve stops against a
	// database that answers.
	t.Cleanup(func() { fault.Set(faultproxy.Pass) })
	// What should work is polled: on a loaded machine a request may miss
	// the short deadline of this test now and then.
	answers(t, "/readyz before the outage", func() reply { return call(t, "GET", srv.url+"/readyz", "", "") }, 200)
	answers(t, "the dashboard sign-in before the outage", func() reply { return dashboardSignIn(t, srv.url) }, http.StatusSeeOther)
	if r := call(t, "GET", srv.url+"/healthz", "", ""); r.status != 200 {
		t.Fatalf("/healthz: %d %s", r.status, r.body)
	}

	gives := 0
	for _, mode := range []faultproxy.Mode{faultproxy.Hang, faultproxy.Refuse} {
		if err := fault.Set(mode); err != nil {
			t.Fatal(err)
		}
		key := "give-across-" + mode.String()
		give := func() reply {
			return call(t, "POST", srv.url+"/v1/subusers/1/give", tok, `{"product":"res","bytes":1000}`, "Idempotency-Key", key)
		}
		call(t, "GET", srv.url+"/v1/subusers/1", tok, "").unavailable(t, "GET /v1/subusers/1 ("+mode.String()+")", `"code":"unavailable"`)
		give().unavailable(t, "give ("+mode.String()+")", `"code":"unavailable"`)
		call(t, "GET", srv.url+"/iproyal/v1/residential-subusers/"+alice.Hash, tok, "").
			unavailable(t, "IPRoyal sub-user ("+mode.String()+")", `"message"`)
		call(t, "GET", srv.url+"/9proxy/client/v1/user-passes/get-list?api-key="+tok, "", "").
			unavailable(t, "9Proxy list ("+mode.String()+")", `"success":false`)
		call(t, "POST", srv.url+"/netnut/v1/auth/login", "", `{"email":"ops@acme.example","password":"not-checked"}`, "Content-Type", "application/json").
			unavailable(t, "NetNut login ("+mode.String()+")", `"success":false`)
		dashboardSignIn(t, srv.url).unavailable(t, "dashboard sign-in ("+mode.String()+")", "the database is unavailable")
		call(t, "GET", srv.url+"/readyz", "", "").unavailable(t, "/readyz ("+mode.String()+")", `"unavailable"`)
		if r := call(t, "GET", srv.url+"/healthz", "", ""); r.status != 200 {
			t.Errorf("/healthz while the database is down: %d", r.status)
		}

		if err := fault.Set(faultproxy.Pass); err != nil {
			t.Fatal(err)
		}
		answers(t, "/readyz after "+mode.String(), func() reply { return call(t, "GET", srv.url+"/readyz", "", "") }, 200)
		// A client retrying its give with the same key has it applied once.
		answers(t, "the give after "+mode.String(), give, 200)
		gives++
		if r := give(); r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("give repeated after recovery (%s): %d %s", mode, r.status, r.body)
		}
	}
	var after struct {
		Traffic map[string]struct {
			Available int64 `json:"available"`
		} `json:"traffic"`
	}
	r := answers(t, "the sub-user after the outages", func() reply { return call(t, "GET", srv.url+"/v1/subusers/1", tok, "") }, 200)
	if err := json.Unmarshal([]byte(r.body), &after); err != nil {
		t.Fatal(err)
	}
	if got, want := after.Traffic["res"].Available, alice.TotalAvailable()+int64(gives)*1000; got != want {
		t.Fatalf("available %d after %d gives of 1000 bytes, want %d", got, gives, want)
	}
}

// outageSetUp creates, straight in the database, a reseller with an API
// token and a sub-user alice with 1 GB: set-up must not depend on the short
// deadline the outage test gives the server.
func outageSetUp(t *testing.T, schemaURL, hexKey string) (string, *subgate.SubUser) {
	t.Helper()
	ctx := context.Background()
	key, _ := hex.DecodeString(hexKey)
	cipher, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(ctx, schemaURL, cipher)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := subgate.NewService(st)
	admin := subgate.Principal{Admin: true}
	r, err := svc.CreateReseller(ctx, admin, subgate.ResellerCreate{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreditPool(ctx, admin, r.ID, subgate.ProductResidential, 10*subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.IssueToken(ctx, admin, r.ID, subgate.TokenAPI)
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateSubUser(ctx, admin, r.ID, subgate.SubUserCreate{
		Username: "alice", Password: "alice1pw", Traffic: map[subgate.Product]int64{subgate.ProductResidential: subgate.BytesPerGB},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok, u
}

// answers polls do until it answers want (see eventually) and returns
// that answer.
func answers(t *testing.T, what string, do func() reply, want int) reply {
	t.Helper()
	var r reply
	eventually(t, what, func() bool { r = do(); return r.status == want })
	return r
}
