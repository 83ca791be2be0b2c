package dialecttest

import (
	"net/http"
	"testing"
)

// The validator the dialect tests lean on must reject what does not match.
func TestSpecRejectsMismatches(t *testing.T) {
	s := LoadSpec(t, "testdata/tiny.yaml")
	json := http.Header{"Content-Type": {"application/json"}}
	ok := Response{Status: 200, Header: json, Body: []byte(`{"id":1,"name":"a"}`)}
	if err := s.ValidateResponse("GET", "/things/{id}", ok); err != nil {
		t.Fatalf("valid answer rejected: %v", err)
	}
	for name, bad := range map[string]Response{
		"wrong type":    {Status: 200, Header: json, Body: []byte(`{"id":"1","name":"a"}`)},
		"missing field": {Status: 200, Header: json, Body: []byte(`{"id":1}`)},
		"extra field":   {Status: 200, Header: json, Body: []byte(`{"id":1,"name":"a","x":1}`)},
		"not json":      {Status: 200, Header: json, Body: []byte(`<html>`)},
		"wrong content": {Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(`{"id":1,"name":"a"}`)},
	} {
		if err := s.ValidateResponse("GET", "/things/{id}", bad); err == nil {
			t.Errorf("%s: accepted %s", name, bad.Body)
		}
	}
	s.Strict = true
	if err := s.ValidateResponse("GET", "/things/{id}", Response{Status: 418, Header: json, Body: []byte(`{}`)}); err == nil {
		t.Error("strict spec accepted an undocumented status")
	}
	if err := s.ValidateSchema("Thing", []byte(`{"id":1}`)); err == nil {
		t.Error("schema accepted a thing without a name")
	}
	if err := s.ValidateResponse("POST", "/things/{id}", ok); err == nil {
		t.Error("found an operation that is not in the spec")
	}
}
