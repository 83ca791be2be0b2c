package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

func TestRootAndPagesRedirectToLogin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if a := b.get("/"); a.status != http.StatusFound || a.header.Get("Location") != "/dashboard/" {
		t.Errorf("/: %d to %q, want 302 to /dashboard/", a.status, a.header.Get("Location"))
	}
	for _, p := range []string{"/dashboard/", "/dashboard/subusers", "/dashboard/admin"} {
		if a := b.get(p); a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/login" {
			t.Errorf("%s: %d to %q, want 303 to the login page", p, a.status, a.header.Get("Location"))
		}
	}
	// The API next to it is untouched.
	if a := b.get("/v1/me"); a.status != http.StatusUnauthorized {
		t.Errorf("/v1/me without a token: %d, want 401", a.status)
	}
}

func TestLoginFailsThenSucceeds(t *testing.T) {
	e := newEnv(t)
	e.reseller("Acme Proxies", "ops@acme.test", "right-password", 0)
	b := e.browser()

	a := b.tryLogin("ops@acme.test", "wrong-password")
	if a.status != http.StatusUnauthorized || !strings.Contains(errorText(a.doc), "wrong email or password") {
		t.Fatalf("wrong password: %d, error %q", a.status, errorText(a.doc))
	}
	if inputValue(a.doc, "email") != "ops@acme.test" {
		t.Errorf("the email was not kept in the form")
	}
	if b.sessionCookie() != nil {
		t.Fatal("a failed login set a session cookie")
	}

	b.login("ops@acme.test", "right-password")
	c := b.sessionCookie()
	if c == nil || !strings.HasPrefix(c.Value, "d.sgd_") {
		t.Fatalf("session cookie after login: %+v", c)
	}
	a = b.get("/dashboard/")
	if a.status != http.StatusOK || text(find(a.doc, withClass("span", "who"))) != "Acme Proxies" {
		t.Fatalf("overview: %d, signed in as %q", a.status, text(find(a.doc, withClass("span", "who"))))
	}
	for h, want := range map[string]string{
		"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "same-origin",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := a.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newEnv(t)
	e.reseller("Acme", "ops@acme.test", "right-password", 0)
	b := e.browser()
	a := b.tryLogin("ops@acme.test", "right-password")
	var set string
	for _, c := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "subgate_session=") {
			set = c
		}
	}
	for _, want := range []string{"Path=/dashboard", "HttpOnly", "SameSite=Strict", "Max-Age="} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("session cookie %q is Secure on plain HTTP", set)
	}

	// Behind a TLS-terminating proxy the cookie is Secure.
	b = e.browser()
	csrf := inputValue(b.get("/dashboard/login").doc, "csrf")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/dashboard/login", strings.NewReader(url.Values{
		"csrf": {csrf}, "email": {"ops@acme.test"}, "password": {"right-password"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	a = b.do(req)
	secure := false
	for _, c := range a.header.Values("Set-Cookie") {
		secure = secure || strings.HasPrefix(c, "subgate_session=") && strings.Contains(c, "; Secure")
	}
	if a.status != http.StatusSeeOther || !secure {
		t.Errorf("login behind TLS: %d, cookies %q", a.status, a.header.Values("Set-Cookie"))
	}
}

func TestLoginNeedsTheLoginFormToken(t *testing.T) {
	e := newEnv(t)
	e.reseller("Acme", "ops@acme.test", "right-password", 0)
	b := e.browser()
	a := b.post("/dashboard/login", url.Values{"csrf": {"made-up"}, "email": {"ops@acme.test"}, "password": {"right-password"}})
	if a.status != http.StatusForbidden || b.sessionCookie() != nil {
		t.Fatalf("login without the form's token: %d, cookie %v", a.status, b.sessionCookie())
	}
}

func TestLogoutRevokesTheSession(t *testing.T) {
	e := newEnv(t)
	e.reseller("Acme", "ops@acme.test", "right-password", 0)
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	stolen := *b.sessionCookie()

	a := b.post("/dashboard/logout", url.Values{"csrf": {b.csrf()}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/login" {
		t.Fatalf("logout: %d to %q", a.status, a.header.Get("Location"))
	}
	if b.sessionCookie() != nil {
		t.Error("logout left the cookie in the browser")
	}
	// A copy of the cookie is worthless: the token was revoked.
	token := strings.TrimPrefix(stolen.Value, "d.")
	if _, err := e.svc.Authenticate(context.Background(), token, subgate.TokenDashboard); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("token after logout: %v, want unauthorized", err)
	}
	other := e.browser()
	u, _ := url.Parse(e.srv.URL + "/dashboard/")
	other.client.Jar.SetCookies(u, []*http.Cookie{{Name: stolen.Name, Value: stolen.Value, Path: "/dashboard"}})
	if a := other.get("/dashboard/"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/login" {
		t.Errorf("old cookie after logout: %d to %q, want the login page", a.status, a.header.Get("Location"))
	}
}

// Sessions live in the database: a restarted server (a new Server and
// store on the same file) keeps them.
func TestSessionSurvivesANewServer(t *testing.T) {
	e := newEnv(t)
	e.reseller("Acme", "ops@acme.test", "right-password", 0)
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	csrf := b.csrf()

	e.store.Close()
	e.open()

	a := b.get("/dashboard/subusers")
	if a.status != http.StatusOK {
		t.Fatalf("after restart: %d, want 200", a.status)
	}
	if got := inputValue(b.get("/dashboard/subusers/new").doc, "csrf"); got != csrf {
		t.Errorf("form token changed across restart: %q, want %q", got, csrf)
	}
}

func TestAResellerAPITokenIsNotAnAdminLogin(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 0)
	tok, _, err := e.svc.IssueToken(context.Background(), subgate.Principal{Admin: true}, r.ID, subgate.TokenAPI)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	for _, token := range []string{tok, "not-the-admin-token-at-all"} {
		if a := b.loginAdmin(token); a.status != http.StatusUnauthorized || b.sessionCookie() != nil {
			t.Errorf("admin login with %.8s…: %d, cookie %v", token, a.status, b.sessionCookie())
		}
	}
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	e := newEnv(t)
	e.reseller("Acme", "ops@acme.test", "right-password", 0)
	b := e.browser()
	limited := false
	for i := 0; i < 20 && !limited; i++ {
		a := b.tryLogin("ops@acme.test", "wrong-password")
		limited = a.status == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("20 failed logins in a row were never limited")
	}
	if a := b.tryLogin("ops@acme.test", "right-password"); a.status != http.StatusTooManyRequests {
		t.Errorf("a limited address could still try: %d", a.status)
	}
}

// The admin's browser holds a session of its own, not the admin token: a
// copied cookie is no API credential, and signing out ends it.
func TestAdminSessionIsNotTheAdminTokenAndEndsAtLogout(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if a := b.loginAdmin(adminToken); a.status != http.StatusSeeOther {
		t.Fatalf("admin login: %d: %s", a.status, errorText(a.doc))
	}
	stolen := *b.sessionCookie()
	if strings.Contains(stolen.Value, adminToken) {
		t.Fatalf("the admin session cookie holds the admin token: %q", stolen.Value)
	}
	// The cookie's value is no bearer token for the native API.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/resellers", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(stolen.Value, "a."))
	if a := e.browser().do(req); a.status != http.StatusUnauthorized {
		t.Errorf("the admin cookie as an API token: %d, want 401", a.status)
	}
	page := b.get("/dashboard/admin")
	if page.status != http.StatusOK || strings.Contains(page.body, adminToken) {
		t.Fatalf("admin page: %d (or it shows the admin token)", page.status)
	}
	if a := b.post("/dashboard/logout", url.Values{"csrf": {inputValue(page.doc, "csrf")}}); a.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", a.status)
	}
	other := e.browser()
	u, _ := url.Parse(e.srv.URL + "/dashboard/")
	other.client.Jar.SetCookies(u, []*http.Cookie{{Name: stolen.Name, Value: stolen.Value, Path: "/dashboard"}})
	if a := other.get("/dashboard/admin"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/login" {
		t.Errorf("admin cookie after logout: %d to %q, want the login page", a.status, a.header.Get("Location"))
	}
	// The admin token itself still works: signing out is no rotation.
	if a := e.browser().loginAdmin(adminToken); a.status != http.StatusSeeOther {
		t.Errorf("admin login after logout: %d", a.status)
	}
}
