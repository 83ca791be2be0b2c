package ninep

import (
	"net/http"

	"github.com/subgate/subgate"
)

// authedFunc is an endpoint that runs for an authenticated caller.
type authedFunc func(w http.ResponseWriter, r *http.Request, p subgate.Principal)

// apiKey reads the api-key query parameter (or, for clients that prefer it,
// an api-key header).
func apiKey(r *http.Request) string {
	if k := r.URL.Query().Get("api-key"); k != "" {
		return k
	}
	return r.Header.Get("api-key")
}

func (h *handler) authed(fn authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.svc.Authenticate(r.Context(), apiKey(r), subgate.TokenAPI)
		if err != nil {
			h.failWith(w, r, err)
			return
		}
		fn(w, r, p)
	}
}
