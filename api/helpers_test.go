package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/api"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
	"github.com/subgate/subgate/storetest"
)

const adminToken = "admin-token-for-tests-0123456789"

// env is a running API over a real SQLite file.
type env struct {
	t      testing.TB
	store  *sqlite.Store
	svc    *subgate.Service
	api    *api.Server
	srv    *httptest.Server
	logs   *bytes.Buffer
	logsMu *sync.Mutex
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the server configured before it serves.
func newEnvWith(t testing.TB, configure func(*api.Server, *sqlite.Store)) *env {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	cipher, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "subgate.db"), cipher)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := subgate.NewService(store)
	if _, err := svc.EnsureAdminToken(context.Background(), adminToken); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, svc: svc, logs: &bytes.Buffer{}, logsMu: &sync.Mutex{}}
	logger := slog.New(slog.NewTextHandler(lockedWriter{e.logs, e.logsMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.api = api.NewServer(svc, logger)
	if configure != nil {
		configure(e.api, store)
	}
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// reply is one HTTP answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// decode unmarshals the body into a generic value.
func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

func (r reply) into(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// errCode returns the error envelope's code and field.
func (r reply) errCode(t testing.TB) (string, string) {
	t.Helper()
	var env struct {
		Error struct{ Code, Message, Field string }
	}
	r.into(t, &env)
	if env.Error.Code == "" || env.Error.Message == "" {
		t.Fatalf("not an error envelope: %s", r.Body)
	}
	return env.Error.Code, env.Error.Field
}

// call sends a request. body may be nil, a string (sent as is) or a value
// (sent as JSON). Every answer is validated against the OpenAPI document.
func (e *env) call(method, path, token string, body any, headers ...string) reply {
	e.t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := reply{Status: resp.StatusCode, Header: resp.Header, Body: out}
	validateAgainstSpec(e.t, req, r)
	if r.Status < 400 {
		// What the server accepted, the document must accept too.
		if err := requestMismatch(e.t, req, raw); err != nil {
			e.t.Fatalf("%s %s was accepted but does not match the OpenAPI document: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

// expect fails unless the answer has status want.
func (r reply) expect(t testing.TB, want int) reply {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// expectErr fails unless the answer is an error with status, code and,
// when field is not "", that field.
func (r reply) expectErr(t testing.TB, status int, code, field string) {
	t.Helper()
	r.expect(t, status)
	gotCode, gotField := r.errCode(t)
	if gotCode != code || (field != "" && gotField != field) {
		t.Fatalf("error %s field %q, want %s field %q: %s", gotCode, gotField, code, field, r.Body)
	}
}

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func spec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		specDoc, specErr = api.OpenAPI()
		if specErr == nil {
			specRouter, specErr = legacy.NewRouter(specDoc)
		}
	})
	if specErr != nil {
		t.Fatalf("OpenAPI document: %v", specErr)
	}
	return specDoc, specRouter
}

// validateAgainstSpec fails the test unless an answer matches the document.
func validateAgainstSpec(t testing.TB, req *http.Request, r reply) {
	t.Helper()
	if err := specMismatch(t, req, r); err != nil {
		t.Fatalf("%s %s answer %d does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path, r.Status, err, r.Body)
	}
}

// specMismatch checks an answer against the committed document: the
// documented response of the operation, or, for paths the document does
// not know, the error envelope.
func specMismatch(t testing.TB, req *http.Request, r reply) error {
	doc, router := spec(t)
	probe := req.Clone(context.Background())
	probe.URL.Scheme, probe.URL.Host, probe.Host = "", "", ""
	route, params, err := router.FindRoute(probe)
	if err != nil {
		if r.Status < 400 {
			return fmt.Errorf("success answer on a path the document does not have")
		}
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			return fmt.Errorf("error answer is not JSON")
		}
		return doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route},
		Status:                 r.Status,
		Header:                 r.Header,
		Body:                   io.NopCloser(bytes.NewReader(r.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
}

// requestMismatch checks a request against the document.
func requestMismatch(t testing.TB, req *http.Request, body []byte) error {
	_, router := spec(t)
	probe := req.Clone(context.Background())
	probe.URL.Scheme, probe.URL.Host, probe.Host = "", "", ""
	probe.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(probe)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: probe, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
}

// reseller creates a reseller with a pool of res bytes and returns its id
// and API token.
func (e *env) reseller(name string, res int64) (int64, string) {
	e.t.Helper()
	var r struct{ ID int64 }
	e.call("POST", "/v1/resellers", adminToken, map[string]any{"name": name}).expect(e.t, 201).into(e.t, &r)
	if res > 0 {
		e.call("POST", "/v1/resellers/"+itoa(r.ID)+"/credit", adminToken, map[string]any{"product": "res", "bytes": res}).expect(e.t, 200)
	}
	var tok struct{ Token string }
	e.call("POST", "/v1/resellers/"+itoa(r.ID)+"/tokens", adminToken, nil).expect(e.t, 201).into(e.t, &tok)
	return r.ID, tok.Token
}

// subUser is the part of a sub-user answer tests look at.
type subUser struct {
	ID        int64
	Hash      string
	Username  string
	Password  string
	Status    string
	Funding   string
	Remaining map[string]int64
	Traffic   map[string]struct{ Available, Used int64 }
	Limits    map[string]int64
	Limited   bool
	Expired   bool
	Note      string
	Name      string
	// ExpiresAt is a pointer so null is visible.
	ExpiresAt *string  `json:"expires_at"`
	AllowIPs  []string `json:"allow_ips"`
}

func (e *env) createSubUser(token, username string, res int64) subUser {
	e.t.Helper()
	body := map[string]any{"username": username}
	if res > 0 {
		body["traffic"] = map[string]int64{"res": res}
	}
	var u subUser
	e.call("POST", "/v1/subusers", token, body).expect(e.t, 201).into(e.t, &u)
	return u
}

// pools reads a reseller's pools through the API as the admin.
func (e *env) pools(id int64) map[string]int64 {
	e.t.Helper()
	var r struct{ Pools map[string]int64 }
	e.call("GET", "/v1/resellers/"+itoa(id), adminToken, nil).expect(e.t, 200).into(e.t, &r)
	return r.Pools
}

// checkInvariant asserts pool + available + used = credited − debited for
// every product of the reseller, and that balances agree with the ledger.
func (e *env) checkInvariant(resellerID int64) {
	e.t.Helper()
	storetest.CheckInvariant(e.t, e.store, resellerID)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
