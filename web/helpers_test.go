package web_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/api"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
	"github.com/subgate/subgate/web"
)

const adminToken = "admin-token-for-dashboard-tests"

// env is the dashboard and the native API on one loopback listener, as
// serve mounts them, over a real SQLite file.
type env struct {
	t      *testing.T
	path   string
	key    []byte
	store  subgate.Store
	svc    *subgate.Service
	srv    *httptest.Server
	handle *swapHandler
}

// swapHandler lets a test put a new server behind the same address.
type swapHandler struct{ h http.Handler }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

func newEnv(t *testing.T) *env {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	e := &env{t: t, path: filepath.Join(t.TempDir(), "subgate.db"), key: key, handle: &swapHandler{}}
	e.open()
	e.srv = httptest.NewServer(e.handle)
	t.Cleanup(e.srv.Close)
	return e
}

// open opens the database and puts a new dashboard and API over it.
func (e *env) open() {
	t := e.t
	t.Helper()
	cipher, err := secret.New(e.key)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(e.path, cipher)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e.serve(store)
}

// serve wires a service over store and serves it at the test address.
func (e *env) serve(store subgate.Store) {
	t := e.t
	t.Helper()
	e.store = store
	e.svc = subgate.NewService(store)
	if _, err := e.svc.EnsureAdminToken(context.Background(), adminToken); err != nil {
		t.Fatal(err)
	}
	e.svc.PublicGateway = subgate.GatewayAddress{HTTPPort: 3128, SOCKSPort: 3128}
	dash, err := web.New(e.svc, web.Options{Base: "/dashboard"})
	if err != nil {
		t.Fatal(err)
	}
	a := api.NewServer(e.svc, nil)
	a.Mount("/dashboard", dash.Handler())
	e.handle.h = web.RedirectRoot(a.Handler(), "/dashboard")
}

// reseller creates a reseller that can sign in, with pool bytes of res.
func (e *env) reseller(name, email, password string, pool int64) *subgate.Reseller {
	t := e.t
	t.Helper()
	ctx := context.Background()
	// A cheap hash: bcrypt at full cost is slow under the race detector.
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	r := &subgate.Reseller{Name: name, Email: email, PasswordHash: string(h)}
	if err := e.store.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	if pool > 0 {
		if _, err := e.svc.CreditPool(ctx, subgate.Principal{Admin: true}, r.ID, subgate.ProductResidential, pool, ""); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (e *env) subUser(r *subgate.Reseller, c subgate.SubUserCreate) *subgate.SubUser {
	e.t.Helper()
	u, err := e.svc.CreateSubUser(context.Background(), subgate.Principal{ResellerID: r.ID}, 0, c, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// browser is a client with its own cookie jar that does not follow
// redirects, so tests see every answer.
type browser struct {
	t      *testing.T
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, e: e, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// answer is one response with its body parsed as HTML.
type answer struct {
	status int
	header http.Header
	body   string
	doc    *html.Node
}

func (b *browser) do(req *http.Request) answer {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(string(body)))
	if err != nil {
		b.t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body), doc: doc}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login signs in as a reseller and checks it worked.
func (b *browser) login(email, password string) {
	b.t.Helper()
	a := b.tryLogin(email, password)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/" {
		b.t.Fatalf("login: %d to %q, want 303 to /dashboard/\n%s", a.status, a.header.Get("Location"), a.body)
	}
}

func (b *browser) tryLogin(email, password string) answer {
	b.t.Helper()
	csrf := inputValue(b.get("/dashboard/login").doc, "csrf")
	return b.post("/dashboard/login", url.Values{"csrf": {csrf}, "mode": {"reseller"}, "email": {email}, "password": {password}})
}

func (b *browser) loginAdmin(token string) answer {
	b.t.Helper()
	csrf := inputValue(b.get("/dashboard/login").doc, "csrf")
	return b.post("/dashboard/login", url.Values{"csrf": {csrf}, "mode": {"admin"}, "token": {token}})
}

// csrf reads the form token from a page of the dashboard.
func (b *browser) csrf() string {
	b.t.Helper()
	a := b.get("/dashboard/subusers/new")
	v := inputValue(a.doc, "csrf")
	if v == "" {
		b.t.Fatalf("no csrf input on the page (%d)", a.status)
	}
	return v
}

// sessionCookie returns the session cookie the jar holds for the dashboard.
func (b *browser) sessionCookie() *http.Cookie {
	u, _ := url.Parse(b.e.srv.URL + "/dashboard/")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "subgate_session" {
			return c
		}
	}
	return nil
}

// HTML helpers.

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if all := findAll(n, match); len(all) > 0 {
		return all[0]
	}
	return nil
}

func attr(n *html.Node, name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, name string) bool {
	for _, a := range n.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

func tagged(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func withAttr(tag, key, val string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag && attr(n, key) == val }
}

func withClass(tag, class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Data == tag && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
	}
}

func byID(n *html.Node, id string) *html.Node {
	return find(n, func(n *html.Node) bool { return attr(n, "id") == id })
}

func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(sb.String())
}

// inputValue is the value of the first input named name.
func inputValue(doc *html.Node, name string) string {
	return attr(find(doc, withAttr("input", "name", name)), "value")
}

// errorText is the page's form-level error, "" when none.
func errorText(doc *html.Node) string {
	return text(find(doc, withClass("p", "error")))
}

func audit(t *testing.T, e *env, resellerID int64) map[subgate.Product]subgate.AuditLine {
	t.Helper()
	lines, err := e.store.Audit(context.Background(), resellerID)
	if err != nil {
		t.Fatal(err)
	}
	for p, l := range lines {
		if l.Pool+l.Available+l.Used != l.Credited-l.Debited {
			t.Errorf("%s: pool %d + available %d + used %d != credited %d - debited %d", p, l.Pool, l.Available, l.Used, l.Credited, l.Debited)
		}
	}
	return lines
}
