package netnut

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func loginRequestFrom(remote string) *http.Request {
	r := httptest.NewRequest("POST", "/v1/auth/login", strings.NewReader(`{"email":"a@example.com","password":"guess"}`))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = remote
	return r
}

func TestLoginLimiterCountsOnlyFailures(t *testing.T) {
	l := newLoginLimiter()
	r := loginRequestFrom("127.0.0.1:40000")
	for i := 0; i < 3*loginBurst; i++ {
		done, ok := l.attempt(r)
		if !ok {
			t.Fatalf("success %d was limited", i)
		}
		done(false)
	}
	for i := 0; i < loginBurst; i++ {
		done, ok := l.attempt(r)
		if !ok {
			t.Fatalf("failure %d of %d was limited", i, loginBurst)
		}
		done(true)
	}
	if _, ok := l.attempt(r); ok {
		t.Fatal("failure beyond the burst was allowed")
	}
	if _, ok := l.attempt(loginRequestFrom("127.0.0.1:40001")); ok {
		t.Fatal("another port of the same address was allowed")
	}
	if done, ok := l.attempt(loginRequestFrom("127.0.0.2:40000")); !ok {
		t.Fatal("another address was limited")
	} else {
		done(true)
	}
}

func TestLoginLimiterGroupsIPv6Per64(t *testing.T) {
	l := newLoginLimiter()
	for i := 0; i < loginBurst; i++ {
		done, ok := l.attempt(loginRequestFrom("[2001:db8::" + string(rune('1'+i%9)) + "]:1"))
		if !ok {
			t.Fatalf("failure %d limited", i)
		}
		done(true)
	}
	if _, ok := l.attempt(loginRequestFrom("[2001:db8::ffff]:1")); ok {
		t.Fatal("a new address in the same /64 escaped the limit")
	}
	if _, ok := l.attempt(loginRequestFrom("[2001:db8:0:1::1]:1")); !ok {
		t.Fatal("another /64 was limited")
	}
}

func TestLoginLimiterIsBounded(t *testing.T) {
	l := newLoginLimiter()
	l.max = 4
	for i := 0; i < 50; i++ {
		done, ok := l.attempt(loginRequestFrom("127.0.1." + string(rune('0'+i%10)) + string(rune('0'+i/10)) + ":1"))
		if !ok {
			t.Fatalf("source %d limited", i)
		}
		done(true)
		if n := len(l.sources); n > l.max {
			t.Fatalf("%d sources kept, limit %d", n, l.max)
		}
	}
}

// A limited source gets 429 in NetNut's envelope before any password is
// checked.
func TestLoginAnswers429InEnvelope(t *testing.T) {
	h := &handler{logins: newLoginLimiter()}
	r := loginRequestFrom("127.0.0.1:40000")
	for i := 0; i < loginBurst; i++ {
		done, _ := h.logins.attempt(r)
		done(true)
	}
	w := httptest.NewRecorder()
	h.login(w, loginRequestFrom("127.0.0.1:40000"))
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	if w.Code != http.StatusTooManyRequests || body["success"] != false || body["message"] == "" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %v %v", w.Code, w.Header(), body)
	}
}
