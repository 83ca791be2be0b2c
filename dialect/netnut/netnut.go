// Package netnut serves NetNut's Customers API for resellers ("Sub users"
// and the usage report) on top of subgate.Service, so scripts written for
// NetNut work by changing only the base URL and the token. Paths are NetNut's
// own (/v1/auth/…, /v1/customer/…) relative to wherever the handler is
// mounted.
//
// Envelopes follow NetNut: {"success":true,"data":[…]} or
// {"success":true,"message":"…"} on success, {"success":false,"message":"…"}
// on failure (with a "field" key for bad input). GET by id and the list are
// answered as a one-element array of that wrapper, as NetNut declares them.
// allocateIps also answers the dedicated IPs ({"id","ip","country_code",
// "access_point"}; "ip" is left out for IPs behind an upstream proxy) and the
// sub-user, beside success and message.
//
// Status codes: 400 bad input (also duplicates and short pools), 401 missing
// or bad token, 404 unknown or foreign sub-user, 405 wrong method, 500.
//
// A sub-user in the data arrays looks like this (bytes are exact, GB are
// decimal gigabytes):
//
//	{"id":5,"hash":"01J…","customer_name":"Shop","customer_dashboard_email":"a@b.c",
//	 "customer_login_name":"alice","customer_login_pwd":"s3cret","snkrs_private_pool":0,
//	 "is_active":true,"status":"active","available_gb":10,"used_gb":0.5,
//	 "traffic":[{"product_type":"res","available_gb":10,"used_gb":0.5,
//	             "available_bytes":10000000000,"used_bytes":500000000}],
//	 "created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}
package netnut

import (
	"log/slog"
	"net/http"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
	"github.com/subgate/subgate/internal/loginlimit"
)

// handler holds what every NetNut endpoint needs.
type handler struct {
	svc *subgate.Service
	log *slog.Logger
	// logins limits failed logins per source address and per email.
	logins *loginlimit.Limiter
}

// New returns the NetNut dialect.
func New(svc *subgate.Service, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	h := &handler{svc: svc, log: logger, logins: loginlimit.New()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/auth/login", h.login)
	mux.HandleFunc("GET /v1/auth/authenticated", h.authenticated)

	mux.HandleFunc("GET /v1/customer/sub-user/{$}", h.authed(h.list))
	mux.HandleFunc("GET /v1/customer/sub-user", h.authed(h.list))
	mux.HandleFunc("POST /v1/customer/sub-user/{$}", h.authed(h.create))
	mux.HandleFunc("POST /v1/customer/sub-user", h.authed(h.create))
	mux.HandleFunc("GET /v1/customer/sub-user/{id}", h.authed(h.get))
	mux.HandleFunc("PATCH /v1/customer/sub-user/{id}/password", h.authed(h.password))
	mux.HandleFunc("POST /v1/customer/sub-user/{id}/allocate", h.authed(h.allocate))
	mux.HandleFunc("POST /v1/customer/sub-user/{id}/allocateIps", h.authed(h.allocateIPs))
	mux.HandleFunc("PUT /v1/customer/sub-user/{id}/disabled", h.authed(h.disabled))

	mux.HandleFunc("POST /v1/customer/usage/{$}", h.authed(h.usage))
	mux.HandleFunc("POST /v1/customer/usage", h.authed(h.usage))

	// NetNut matches paths whatever their case; clients in the wild send
	// "/allocateips".
	return jsonhttp.FoldCase(jsonhttp.Serve(mux, jsonhttp.Misses{
		NotFound: func(w http.ResponseWriter, r *http.Request) {
			fail(w, http.StatusNotFound, "", "no such endpoint: "+r.Method+" "+r.URL.Path)
		},
		MethodNotAllowed: func(w http.ResponseWriter, r *http.Request, allow []string) {
			fail(w, http.StatusMethodNotAllowed, "", "method "+r.Method+" is not allowed here")
		},
		Panic: func(w http.ResponseWriter, r *http.Request) {
			fail(w, http.StatusInternalServerError, "", "internal error")
		},
	}, logger), "v1", "auth", "login", "authenticated", "customer", "sub-user", "password",
		"allocate", "allocateIps", "disabled", "usage")
}
