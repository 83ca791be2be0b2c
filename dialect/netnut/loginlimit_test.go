package netnut

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/subgate/subgate/internal/loginlimit"
)

func loginRequestFrom(remote string) *http.Request {
	r := httptest.NewRequest("POST", "/v1/auth/login", strings.NewReader(`{"email":"a@example.com","password":"guess"}`))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = remote
	return r
}

// A limited source and email get 429 in NetNut's envelope before any password is
// checked.
func TestLoginAnswers429InEnvelope(t *testing.T) {
	h := &handler{logins: loginlimit.New()}
	r := loginRequestFrom("127.0.0.1:40000")
	for i := 0; i < loginlimit.PairBurst; i++ {
		done, _ := h.logins.Attempt(r, "a@example.com")
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
