// Package ninep serves 9Proxy's public "API for User-Pass"
// (/client/v1/user-passes/…) on top of subgate.Service, so scripts written
// for 9Proxy work by changing only the base URL and the api-key (a
// reseller's native API token, sent as the api-key query parameter).
//
// Documented choices where 9Proxy's documents are silent:
//   - create and update answer the sub-user as "result" next to success and
//     message, so a client learns the id it needs for update and delete;
//   - usage_cap is bytes over the sub-user's lifetime (0 or -1 mean no cap,
//     0 is shown); ip_usage_cap is distinct egress IPs per day, -1 unlimited
//     (0 is refused: the domain cannot express "no IPs at all");
//   - on update only id is required; fields left out keep their value;
//     status 3 (blocked) is read-only: it may be echoed back for a blocked
//     sub-user, never set;
//   - keyword matches the username (and, as everywhere in subgate, the note);
//   - sub-users created here are shared: they draw on the reseller's pool,
//     bounded by usage_cap, and data_used follows their traffic;
//   - every documented sort_by works; usage_cap and ip_usage_cap sort by the
//     values shown (0 and -1 for no cap first); ip_used counts the stored
//     day window; use_key is sorted by the dialect over at most 10,000
//     matching sub-users (narrow larger lists with keyword);
//   - errors are {"success":false,"message":"…","errors":[{"field":"…",
//     "message":"…"}]} with 400 for bad input, 401, 404, 405 and 500.
package ninep

import (
	"log/slog"
	"net/http"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// handler holds what every 9Proxy endpoint needs.
type handler struct {
	svc *subgate.Service
	log *slog.Logger
}

// New returns the 9Proxy dialect.
func New(svc *subgate.Service, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	h := &handler{svc: svc, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /client/v1/user-passes/get-list", h.authed(h.list))
	mux.HandleFunc("POST /client/v1/user-passes/create", h.authed(h.create))
	mux.HandleFunc("PUT /client/v1/user-passes/update", h.authed(h.update))
	mux.HandleFunc("DELETE /client/v1/user-passes/delete", h.authed(h.delete))

	return jsonhttp.Serve(mux, jsonhttp.Misses{
		NotFound: func(w http.ResponseWriter, r *http.Request) {
			fail(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path, "")
		},
		MethodNotAllowed: func(w http.ResponseWriter, r *http.Request, allow []string) {
			fail(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed here", "")
		},
		Panic: func(w http.ResponseWriter, r *http.Request) {
			fail(w, http.StatusInternalServerError, "internal error", "")
		},
	}, logger)
}
