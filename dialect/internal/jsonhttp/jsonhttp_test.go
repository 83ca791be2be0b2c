package jsonhttp

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

func TestDecodeNamesTheField(t *testing.T) {
	type limits struct {
		Daily *Number `json:"daily_limit"`
	}
	type body struct {
		Name   *string `json:"name"`
		Amount *Number `json:"amount"`
		Limits *limits `json:"limits"`
		Status *int    `json:"status"`
	}
	for _, c := range []struct{ in, field string }{
		{`{"name": 5}`, "name"},
		{`{"amount": "five"}`, "amount"},
		{`{"amount": true}`, "amount"},
		{`{"limits": {"daily_limit": "x"}}`, "limits.daily_limit"},
		{`{"status": 1.5}`, "status"},
		{`[1,2]`, "body"},
		{`{"name": "a"} {}`, "body"},
		{`{"name": `, "body"},
	} {
		var b body
		err := DecodeBytes([]byte(c.in), &b)
		if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != c.field {
			t.Errorf("%s: got %v, want invalid %s", c.in, err, c.field)
		}
	}
}

func TestDecodeAcceptsNumericStringsAndEmptyBody(t *testing.T) {
	var b struct {
		Amount *Number `json:"amount"`
	}
	if err := DecodeBytes([]byte(`{"amount": "2.5", "extra": 1}`), &b); err != nil || b.Amount == nil || *b.Amount != 2.5 {
		t.Fatalf("got %v %v", b.Amount, err)
	}
	b.Amount = nil
	if err := DecodeBytes([]byte("  "), &b); err != nil || b.Amount != nil {
		t.Fatalf("empty body: %v %v", b.Amount, err)
	}
	if err := DecodeBytes([]byte(strings.Repeat(" ", MaxBody+1)), &b); subgate.ErrorField(err) != "body" {
		t.Fatalf("oversized body: %v", err)
	}
}

func TestDecodeToleratesTrailingCommas(t *testing.T) {
	var b struct {
		Name   string   `json:"name"`
		Amount *Number  `json:"amount"`
		Tags   []string `json:"tags"`
	}
	in := "{\n\"name\": \"a,}\",\n\"tags\": [\"x\", ],\n\"amount\": 10.0,\n}"
	if err := DecodeBytes([]byte(in), &b); err != nil || b.Name != "a,}" || *b.Amount != 10 || len(b.Tags) != 1 {
		t.Fatalf("got %+v %v", b, err)
	}
	if err := DecodeBytes([]byte(`{"name": "a",, }`), &b); subgate.ErrorField(err) != "body" {
		t.Fatalf("double comma accepted: %v", err)
	}
}

func TestDecodeForm(t *testing.T) {
	var b struct {
		Username *string `json:"username"`
		Traffic  *Number `json:"traffic"`
		Limits   *struct {
			Daily *Number `json:"daily_limit"`
		} `json:"limits"`
		IDs []string `json:"ids"`
	}
	body := "username=a%2Bb&traffic=2.5&limits%5Bdaily_limit%5D=5000&ids[]=1&ids[]=2"
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := Decode(r, &b); err != nil {
		t.Fatal(err)
	}
	if *b.Username != "a+b" || *b.Traffic != 2.5 || *b.Limits.Daily != 5000 || strings.Join(b.IDs, ",") != "1,2" {
		t.Fatalf("got %+v", b)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("limits=1&limits[daily_limit]=2"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := Decode(r, &b); subgate.ErrorCode(err) != subgate.EINVALID {
		t.Fatalf("value and group at once: %v", err)
	}
}

func TestNumberInt(t *testing.T) {
	if n, ok := Number(88).Int(); !ok || n != 88 {
		t.Fatal(n, ok)
	}
	if _, ok := Number(1.5).Int(); ok {
		t.Fatal("1.5 is not an integer")
	}
}

func TestServeAnswersMisses(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		Write(w, 200, map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("DELETE /things/{id}", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	h := Serve(mux, Misses{
		NotFound: func(w http.ResponseWriter, r *http.Request) { Write(w, 404, map[string]string{"error": "nf"}) },
		MethodNotAllowed: func(w http.ResponseWriter, r *http.Request, allow []string) {
			Write(w, 405, map[string]string{"error": strings.Join(allow, ",")})
		},
		Panic: func(w http.ResponseWriter, r *http.Request) { Write(w, 500, map[string]string{"error": "internal"}) },
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/things/7", 200, `{"id":"7"}`},
		{"GET", "/nothing", 404, `{"error":"nf"}`},
		{"POST", "/things/7", 405, `{"error":"GET,DELETE"}`},
		{"DELETE", "/things/7", 500, `{"error":"internal"}`},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status || strings.TrimSpace(rec.Body.String()) != c.body {
			t.Errorf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: content type %q", c.method, c.path, ct)
		}
	}
}

func TestRename(t *testing.T) {
	err := subgate.Invalidf("username", "must be 3 to 64 characters")
	f, m := Rename(err, map[string]string{"username": "user_name"})
	if f != "user_name" || m != "user_name must be 3 to 64 characters" {
		t.Fatal(f, m)
	}
}

func TestFoldCase(t *testing.T) {
	var got string
	h := FoldCase(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.URL.Path }), "sub-user", "allocateIps")
	for in, want := range map[string]string{
		"/v1/sub-user/01ABC/allocateips": "/v1/sub-user/01ABC/allocateIps",
		"/v1/SUB-USER/01abc/AllocateIPs": "/v1/sub-user/01abc/allocateIps",
		"/v1/sub-user/01ABC/allocate":    "/v1/sub-user/01ABC/allocate",
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", in, nil))
		if got != want {
			t.Errorf("%s reached the handler as %s, want %s", in, got, want)
		}
	}
}

// curl -d sends a JSON body as application/x-www-form-urlencoded unless told
// otherwise, as the providers' own curl examples often are copied: a body
// that is a JSON object is read as JSON whatever the Content-Type says.
func TestDecodeJSONSentAsForm(t *testing.T) {
	var b struct {
		Username *string `json:"username"`
		Traffic  *Number `json:"traffic"`
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(` {"username":"a+b","traffic":2.5}`))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := Decode(r, &b); err != nil {
		t.Fatal(err)
	}
	if b.Username == nil || *b.Username != "a+b" || b.Traffic == nil || *b.Traffic != 2.5 {
		t.Fatalf("got %+v", b)
	}
}
