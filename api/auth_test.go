package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/subgate/subgate/api"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 0)

	e.call("GET", "/v1/subusers", "", nil).expectErr(t, 401, "unauthorized", "")
	e.call("GET", "/v1/subusers", "wrong-token", nil).expectErr(t, 401, "unauthorized", "")
	r := e.call("GET", "/v1/me", "", nil, "Authorization", "Basic "+tok)
	r.expectErr(t, 401, "unauthorized", "")
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a Bearer challenge: %v", r.Header)
	}
	e.call("GET", "/v1/me", tok, nil).expect(t, 200)
	e.call("GET", "/v1/me", "", nil, "Authorization", "bearer "+tok).expect(t, 200)

	// Revoked tokens stop working at once.
	var tokens struct{ Items []struct{ ID int64 } }
	e.call("GET", "/v1/resellers/"+itoa(id)+"/tokens", adminToken, nil).expect(t, 200).into(t, &tokens)
	if len(tokens.Items) != 1 {
		t.Fatalf("tokens: %+v", tokens)
	}
	e.call("DELETE", "/v1/resellers/"+itoa(id)+"/tokens/"+itoa(tokens.Items[0].ID), adminToken, nil).expect(t, 204)
	e.call("GET", "/v1/me", tok, nil).expectErr(t, 401, "unauthorized", "")
	e.call("DELETE", "/v1/resellers/"+itoa(id)+"/tokens/999", adminToken, nil).expectErr(t, 404, "not_found", "")
}

func TestResellerOnAdminEndpointsIsForbidden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 0)
	other, _ := e.reseller("other", 0)
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/resellers"},
		{"GET", "/v1/resellers"},
		{"POST", "/v1/resellers/" + itoa(id) + "/tokens"},
		{"GET", "/v1/resellers/" + itoa(id) + "/tokens"},
		{"POST", "/v1/resellers/" + itoa(id) + "/credit"},
		{"POST", "/v1/resellers/" + itoa(id) + "/debit"},
	} {
		var body any
		switch {
		case strings.HasSuffix(c.path, "credit"), strings.HasSuffix(c.path, "debit"):
			body = map[string]any{"product": "res", "bytes": 1000}
		case c.path == "/v1/resellers" && c.method == "POST":
			body = map[string]any{"name": "sneaky"}
		}
		e.call(c.method, c.path, tok, body).expectErr(t, 403, "forbidden", "")
	}
	if p := e.pools(id); p["res"] != 0 {
		t.Fatalf("a forbidden credit changed the pool: %v", p)
	}
	// A reseller reads itself but another reseller is 404, not 403.
	e.call("GET", "/v1/resellers/"+itoa(id), tok, nil).expect(t, 200)
	e.call("GET", "/v1/resellers/"+itoa(other), tok, nil).expectErr(t, 404, "not_found", "")
	// /me is for reseller tokens.
	e.call("GET", "/v1/me", adminToken, nil).expectErr(t, 400, "invalid", "")
}

func TestRoutingMissesUseTheEnvelope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.call("GET", "/v1/nothing-here", adminToken, nil).expectErr(t, 404, "not_found", "")
	r := e.call("PUT", "/v1/me", adminToken, nil)
	r.expectErr(t, 405, "method_not_allowed", "")
	if r.Header.Get("Allow") != "GET" {
		t.Errorf("Allow = %q, want GET", r.Header.Get("Allow"))
	}
	e.logsMu.Lock()
	logged := e.logs.String()
	e.logsMu.Unlock()
	if !strings.Contains(logged, "method=PUT path=/v1/me status=405") {
		t.Errorf("request not logged: %s", logged)
	}
	// Non-numeric reseller ids name nothing.
	e.call("GET", "/v1/resellers/abc", adminToken, nil).expectErr(t, 404, "not_found", "")
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("GET", "/v1/openapi.json", "", nil).expect(t, 200)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	r.into(t, &doc)
	if doc.OpenAPI != "3.1.0" || doc.Paths["/v1/subusers/{ref}/give"] == nil {
		t.Fatalf("served document: openapi %q, %d paths", doc.OpenAPI, len(doc.Paths))
	}
	// The served JSON is the committed document, not a lossy rendering.
	served, err := openapi3.NewLoader().LoadFromData(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := served.Validate(context.Background()); err != nil {
		t.Fatalf("served document does not validate: %v", err)
	}
	committed, _ := spec(t)
	a, _ := json.Marshal(served)
	b, _ := json.Marshal(committed)
	if string(a) != string(b) {
		t.Fatal("served document differs from the committed one")
	}
	if !strings.Contains(string(r.Body), `"type":["string","null"]`) {
		t.Fatal("3.1 type arrays were lost when serving")
	}
}

func TestMountServesOtherHandlersOnTheSameListener(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.api.Mount("/dialect", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "token": api.BearerToken(r)})
	}))
	// The dialect's own /v1/me does not collide with the native one.
	resp, err := http.Get(e.srv.URL + "/dialect/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]string
	json.NewDecoder(resp.Body).Decode(&got)
	if resp.StatusCode != 200 || got["path"] != "/v1/me" {
		t.Fatalf("mounted handler: %d %v", resp.StatusCode, got)
	}
}

func TestInternalErrorsAreGeneric(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.reseller("acme", 0)
	e.store.Close()
	r := e.call("GET", "/v1/me", tok, nil)
	r.expectErr(t, 500, "internal", "")
	if strings.Contains(string(r.Body), "sql") || !strings.Contains(string(r.Body), "internal error") {
		t.Fatalf("500 leaks internals: %s", r.Body)
	}
	e.logsMu.Lock()
	defer e.logsMu.Unlock()
	if !strings.Contains(e.logs.String(), "api request failed") {
		t.Fatalf("the real error was not logged: %s", e.logs)
	}
}

// A panicking handler answers 500 in the envelope, and an idempotent write
// that panicked is abandoned, neither left pending (409 forever) nor kept
// (a retry runs again instead of replaying the 500).
func TestPanicsAreContained(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.api.AddPanickingRoute("POST /v1/test-panic")
	e.call("POST", "/v1/test-panic", adminToken, nil).expectErr(t, 500, "internal", "")
	e.call("POST", "/v1/test-panic", adminToken, nil, "Idempotency-Key", "p").expectErr(t, 500, "internal", "")
	r := e.call("POST", "/v1/test-panic", adminToken, nil, "Idempotency-Key", "p")
	r.expectErr(t, 500, "internal", "")
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a 5xx answer was kept and replayed instead of running the retry")
	}
	e.logsMu.Lock()
	defer e.logsMu.Unlock()
	if !strings.Contains(e.logs.String(), "panicked") {
		t.Fatalf("panic not logged: %s", e.logs)
	}
}
