package iproyal

import (
	"net/http"
	"strings"

	"github.com/subgate/subgate"
)

// authedFunc is an endpoint that runs for an authenticated caller.
type authedFunc func(w http.ResponseWriter, r *http.Request, p subgate.Principal)

// bearer reads "Authorization: Bearer <token>", or the X-Access-Token
// header IPRoyal's reseller API uses (with or without "Bearer "), which
// SDKs offer as an alternative.
func bearer(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		x := strings.TrimSpace(r.Header.Get("X-Access-Token"))
		if h != "" || x == "" {
			return ""
		}
		if len(x) > 7 && strings.EqualFold(x[:7], "bearer ") {
			x = strings.TrimSpace(x[7:])
		}
		return x
	}
	return strings.TrimSpace(h[7:])
}

func (h *handler) authed(fn authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.svc.Authenticate(r.Context(), bearer(r), subgate.TokenAPI)
		if err != nil {
			h.failWith(w, r, err, "")
			return
		}
		fn(w, r, p)
	}
}
