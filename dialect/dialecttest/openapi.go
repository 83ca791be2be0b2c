package dialecttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Spec is a set of OpenAPI documents (a provider's fragments or one whole
// document) that responses are validated against.
type Spec struct {
	docs []*openapi3.T
	// Strict makes a status the document does not list a failure.
	Strict bool
}

// LoadSpec loads and validates OpenAPI documents from files.
func LoadSpec(t testing.TB, files ...string) *Spec {
	t.Helper()
	s := &Spec{}
	for _, f := range files {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(f)
		if err != nil {
			t.Fatalf("load %s: %v", f, err)
		}
		if err := doc.Validate(loader.Context); err != nil {
			t.Fatalf("invalid OpenAPI document %s: %v", f, err)
		}
		s.docs = append(s.docs, doc)
	}
	return s
}

// route finds the operation for method and a path template as written in
// the document (e.g. "/customer/sub-user/{id}").
func (s *Spec) route(method, template string) (*routers.Route, error) {
	for _, doc := range s.docs {
		item := doc.Paths.Value(template)
		if item == nil {
			continue
		}
		if op := item.GetOperation(method); op != nil {
			return &routers.Route{Spec: doc, Path: template, PathItem: item, Method: method, Operation: op}, nil
		}
	}
	return nil, fmt.Errorf("no operation %s %s in the spec", method, template)
}

// CheckResponse fails the test unless an answer matches the operation.
func (s *Spec) CheckResponse(t testing.TB, method, template string, resp Response) {
	t.Helper()
	if err := s.ValidateResponse(method, template, resp); err != nil {
		t.Errorf("%s %s answered %d %s\nwhich does not match the spec: %v", method, template, resp.Status, resp.Body, err)
	}
}

// ValidateResponse checks an answer against the operation's response.
func (s *Spec) ValidateResponse(method, template string, resp Response) error {
	route, err := s.route(method, template)
	if err != nil {
		return err
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: httptest.NewRequest(method, "/", nil),
			Route:   route,
		},
		Status:  resp.Status,
		Header:  resp.Header,
		Body:    io.NopCloser(bytes.NewReader(resp.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: s.Strict},
	}
	return openapi3filter.ValidateResponse(context.Background(), input)
}

// CheckRequest validates an example request body and query against the
// operation, so the examples the tests send are the documented ones.
func (s *Spec) CheckRequest(t testing.TB, method, template string, pathParams map[string]string, rawQuery, body string) {
	t.Helper()
	route, err := s.route(method, template)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, "/?"+rawQuery, bytes.NewReader([]byte(body)))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	input := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: pathParams, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		t.Errorf("example request %s %s %s does not match the spec: %v", method, template, body, err)
	}
}

// CheckSchema fails the test unless a JSON body matches a named component
// schema of one of the documents (for answers a provider's fragments leave
// out, such as 401 and 404).
func (s *Spec) CheckSchema(t testing.TB, component string, body []byte) {
	t.Helper()
	if err := s.ValidateSchema(component, body); err != nil {
		t.Errorf("%s does not match schema %s: %v", body, component, err)
	}
}

// ValidateSchema checks a JSON body against a named component schema.
func (s *Spec) ValidateSchema(component string, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	for _, doc := range s.docs {
		if ref := doc.Components.Schemas[component]; ref != nil && ref.Value != nil {
			return ref.Value.VisitJSON(v)
		}
	}
	return fmt.Errorf("no schema %s in the spec", component)
}

// JSON decodes a response body into v, failing the test when it cannot.
func JSON[T any](t testing.TB, resp Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(resp.Body, &v); err != nil {
		t.Fatalf("answer %d is not the JSON expected: %v: %s", resp.Status, err, resp.Body)
	}
	return v
}

// CheckJSONError fails unless resp is a JSON error answer with status: the
// dialects never answer with a stack trace or an HTML page.
func CheckJSONError(t testing.TB, resp Response, status int) map[string]any {
	t.Helper()
	if resp.Status != status {
		t.Errorf("status %d, want %d: %s", resp.Status, status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q: %s", ct, resp.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		t.Fatalf("error answer is not a JSON object: %v: %s", err, resp.Body)
	}
	if bytes.Contains(resp.Body, []byte("goroutine ")) || bytes.Contains(resp.Body, []byte(".go:")) {
		t.Errorf("error answer leaks internals: %s", resp.Body)
	}
	return m
}
