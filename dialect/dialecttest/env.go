// Package dialecttest runs the provider dialects against a real store for
// tests: a SQLite file in a temporary directory, the service, a reseller with
// credits and tokens, and an HTTP server on loopback that mounts every
// dialect under its usual prefix. It also validates responses against
// OpenAPI documents and records metered usage the way the gateway does.
package dialecttest

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/iproyal"
	"github.com/subgate/subgate/dialect/netnut"
	"github.com/subgate/subgate/dialect/ninep"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
)

// Mount prefixes, as the serve command uses them by default.
const (
	NetNut  = "/netnut"
	IPRoyal = "/iproyal"
	NineP   = "/9proxy"
)

// Env is one isolated installation.
type Env struct {
	Store  *sqlite.Store
	Svc    *subgate.Service
	Server *httptest.Server
	Admin  subgate.Principal
	// Reseller is a ready reseller with an APIToken (IPRoyal, 9Proxy),
	// PoolGB of every product and, from NewWithLogin, Email and Password
	// (NetNut login).
	Reseller *Reseller
}

// Reseller is a reseller account and its credentials.
type Reseller struct {
	*subgate.Reseller
	Email, Password string
	APIToken        string
}

// PoolGB is what New credits to the first reseller's pool of every product.
const PoolGB = 100

// New opens a fresh store and starts the server; both close with the test.
// Its reseller has no login: bcrypt is slow under the race detector and only
// NetNut needs one.
func New(t testing.TB) *Env {
	t.Helper()
	return newEnv(t, false)
}

// NewWithLogin is New with a reseller that can log in (NetNut).
func NewWithLogin(t testing.TB) *Env {
	t.Helper()
	return newEnv(t, true)
}

func newEnv(t testing.TB, login bool) *Env {
	t.Helper()
	key := make([]byte, secret.KeySize)
	_, _ = rand.Read(key)
	cipher, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "subgate.db"), cipher)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &Env{Store: store, Svc: subgate.NewService(store), Admin: subgate.Principal{Admin: true}}
	e.Server = loopbackServer(t, e.Handler(slog.New(slog.NewTextHandler(testLog{t}, nil))))
	if login {
		e.Reseller = e.NewLoginReseller(t, "first", PoolGB)
	} else {
		e.Reseller = e.NewReseller(t, "first", PoolGB)
	}
	return e
}

// Handler mounts every dialect under its prefix.
func (e *Env) Handler(logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(NetNut+"/", http.StripPrefix(NetNut, netnut.New(e.Svc, logger)))
	mux.Handle(IPRoyal+"/", http.StripPrefix(IPRoyal, iproyal.New(e.Svc, logger)))
	mux.Handle(NineP+"/", http.StripPrefix(NineP, ninep.New(e.Svc, logger)))
	return mux
}

// testLog sends the dialects' log lines (internal errors) to the test log.
type testLog struct{ t testing.TB }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func loopbackServer(t testing.TB, h http.Handler) *httptest.Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// Serve serves h on another loopback port for the rest of the test and
// returns its base URL (a dialect served at "/", as on a dedicated port).
func (e *Env) Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	return loopbackServer(t, h).URL
}

// NewReseller creates a reseller named name with poolGB credited to every
// product and an API token.
func (e *Env) NewReseller(t testing.TB, name string, poolGB float64) *Reseller {
	t.Helper()
	return e.newReseller(t, name, poolGB, false)
}

// NewLoginReseller is NewReseller with an email and password to log in with.
func (e *Env) NewLoginReseller(t testing.TB, name string, poolGB float64) *Reseller {
	t.Helper()
	return e.newReseller(t, name, poolGB, true)
}

func (e *Env) newReseller(t testing.TB, name string, poolGB float64, login bool) *Reseller {
	t.Helper()
	ctx := context.Background()
	r := &Reseller{}
	if login {
		r.Email, r.Password = name+"@example.com", "password-"+name
	}
	var err error
	r.Reseller, err = e.Svc.CreateReseller(ctx, e.Admin, subgate.ResellerCreate{Name: name, Email: r.Email, Password: r.Password})
	if err != nil {
		t.Fatal(err)
	}
	if poolGB > 0 {
		bytes, err := subgate.GBToBytes("pool", poolGB)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range subgate.Products {
			if _, err := e.Svc.CreditPool(ctx, e.Admin, r.ID, p, bytes, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r.APIToken, _, err = e.Svc.IssueToken(ctx, e.Admin, r.ID, subgate.TokenAPI); err != nil {
		t.Fatal(err)
	}
	return r
}

// NetNutToken issues a NetNut session token for the first reseller, as a
// NetNut login would.
func (e *Env) NetNutToken(t testing.TB) string {
	t.Helper()
	tok, _, err := e.Svc.IssueToken(context.Background(), subgate.Principal{ResellerID: e.Reseller.ID}, e.Reseller.ID, subgate.TokenNetNut)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// URL is the address of path in the dialect mounted at prefix.
func (e *Env) URL(prefix, path string) string { return e.Server.URL + prefix + path }

// Response is an answer read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request and reads the whole answer. headers alternate names
// and values.
func (e *Env) Do(t testing.TB, method, url, body string, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
