package api_test

import (
	"net/http"
	"testing"

	"github.com/subgate/subgate/api"
)

func TestOpenAPIDocumentLoads(t *testing.T) {
	t.Parallel()
	doc, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("document is %s, want 3.1", doc.OpenAPI)
	}
}

// The validator used by every test must reject answers the document does
// not describe, or the spec checks would prove nothing.
func TestSpecValidatorRejectsUndocumentedAnswers(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest("GET", "http://127.0.0.1/v1/resellers/1", nil)
	json := http.Header{"Content-Type": {"application/json"}}
	good := reply{Status: 200, Header: json, Body: []byte(`{"id":1,"name":"a","pools":{"res":5},"created_at":"2026-01-01T00:00:00Z"}`)}
	if err := specMismatch(t, req, good); err != nil {
		t.Fatalf("a documented answer was rejected: %v", err)
	}
	for name, body := range map[string]string{
		"missing pools":   `{"id":1,"name":"a","created_at":"2026-01-01T00:00:00Z"}`,
		"unknown product": `{"id":1,"name":"a","pools":{"gold":5},"created_at":"2026-01-01T00:00:00Z"}`,
		"wrong type":      `{"id":"1","name":"a","pools":{},"created_at":"2026-01-01T00:00:00Z"}`,
		"bad envelope":    `{"error":{"code":"nope","message":"x"}}`,
	} {
		if err := specMismatch(t, req, reply{Status: 200, Header: json, Body: []byte(body)}); err == nil && name != "bad envelope" {
			t.Errorf("%s: accepted %s", name, body)
		}
	}
	bad := reply{Status: 404, Header: json, Body: []byte(`{"error":{"code":"nope","message":"x"}}`)}
	if specMismatch(t, req, bad) == nil {
		t.Error("an error envelope with an unknown code was accepted")
	}
	unknownPath, _ := http.NewRequest("GET", "http://127.0.0.1/v1/elsewhere", nil)
	if specMismatch(t, unknownPath, reply{Status: 200, Header: json, Body: []byte(`{}`)}) == nil {
		t.Error("a success answer on an undocumented path was accepted")
	}
}

func TestSpecValidatorRejectsUndocumentedRequests(t *testing.T) {
	t.Parallel()
	give := func() *http.Request {
		r, _ := http.NewRequest("POST", "http://127.0.0.1/v1/subusers/1/give", nil)
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	if err := requestMismatch(t, give(), []byte(`{"product":"res","bytes":5}`)); err != nil {
		t.Fatalf("a documented request was rejected: %v", err)
	}
	for _, body := range []string{`{"product":"res","bytes":5,"x":1}`, `{"product":"gold","bytes":5}`, `{"product":"res","bytes":-1}`, `{"bytes":5}`} {
		if requestMismatch(t, give(), []byte(body)) == nil {
			t.Errorf("accepted %s", body)
		}
	}
}
