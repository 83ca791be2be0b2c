// Package iproyal serves IPRoyal's Royal Residential API for sub-users
// (/v1/residential-subusers…), /v1/me, the access endpoints that make proxy
// lists for this gateway (/v1/access/…) and the whitelist entries, mapped
// onto sub-users' client IP allow-lists (/v1/residential-users/{hash}/
// whitelist-entries…), on top of subgate.Service, so
// scripts written for IPRoyal work by changing only the base URL and the
// Bearer token (a reseller's native API token; X-Access-Token is read too).
//
// Documented choices where IPRoyal's documents are silent:
//   - traffic amounts are decimal GB of the residential product ("res");
//     traffic_available is the res balance, traffic_used sums every product;
//   - limits daily_limit, monthly_limit and lifetime_limit are megabytes
//     (10^6 bytes); 0 removes a limit; "limits": [] (PHP's empty array) is
//     accepted as no limits;
//   - the update documented as "UPDATE" is PUT, and PATCH does the same;
//     "traffic" on update is the new available amount: the difference moves
//     between the pool and the sub-user;
//   - create answers 201, delete 204 with no body, as Laravel does; bodies
//     may be JSON (trailing commas tolerated, as in IPRoyal's own examples)
//     or URL-encoded forms with PHP brackets (limits[daily_limit]=5000);
//   - the access endpoints describe this gateway (the public address set
//     with public_proxy): one entry node, every country with empty city and
//     state lists (they are free text here); generate-proxy-list writes
//     lines of a sub-user (subuser_hash, or username and password) in the
//     asked format with the location, session and lifetime in IPRoyal's
//     password syntax, at most MaxProxyListLines a request; a hostname of
//     IPRoyal's own is taken to mean this gateway;
//   - whitelist entries are a sub-user's client IP allow-list:
//     {residential_user_hash} is the sub-user's hash (the account's own hash
//     from /me has no proxy user here and is 404); port must be one of the
//     gateway's, configuration must carry no targeting (whitelisted
//     addresses connect without any) and neither it nor notes are kept;
//   - errors are Laravel's: {"message":"…","errors":{"field":["…"]}} with 422
//     for bad input (also taken usernames and short pools), 401
//     {"message":"Unauthenticated."}, 404, 405.
package iproyal

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// handler holds what every IPRoyal endpoint needs.
type handler struct {
	svc *subgate.Service
	log *slog.Logger
}

// New returns the IPRoyal dialect.
func New(svc *subgate.Service, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	h := &handler{svc: svc, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/me", h.authed(h.me))
	for _, base := range []string{"/v1/residential-subusers", "/v1/residential-subusers/{$}"} {
		mux.HandleFunc("GET "+base, h.authed(h.list))
		mux.HandleFunc("POST "+base, h.authed(h.create))
	}
	mux.HandleFunc("GET /v1/residential-subusers/{hash}", h.authed(h.get))
	mux.HandleFunc("PUT /v1/residential-subusers/{hash}", h.authed(h.update))
	mux.HandleFunc("PATCH /v1/residential-subusers/{hash}", h.authed(h.update))
	mux.HandleFunc("DELETE /v1/residential-subusers/{hash}", h.authed(h.delete))
	mux.HandleFunc("POST /v1/residential-subusers/{hash}/give-traffic", h.authed(h.giveTraffic))
	mux.HandleFunc("POST /v1/residential-subusers/{hash}/take-traffic", h.authed(h.takeTraffic))

	mux.HandleFunc("GET /v1/access/entry-nodes", h.authed(h.entryNodes))
	mux.HandleFunc("GET /v1/access/countries", h.authed(h.countries))
	mux.HandleFunc("POST /v1/access/generate-proxy-list", h.authed(h.generateProxyList))

	const entries = "/v1/residential-users/{user}/whitelist-entries"
	for _, base := range []string{entries, entries + "/{$}"} {
		mux.HandleFunc("GET "+base, h.authed(h.listWhitelist))
		mux.HandleFunc("POST "+base, h.authed(h.createWhitelist))
	}
	mux.HandleFunc("GET "+entries+"/{entry}", h.authed(h.getWhitelist))
	mux.HandleFunc("PUT "+entries+"/{entry}", h.authed(h.updateWhitelist))
	mux.HandleFunc("PATCH "+entries+"/{entry}", h.authed(h.updateWhitelist))
	mux.HandleFunc("DELETE "+entries+"/{entry}", h.authed(h.deleteWhitelist))

	return jsonhttp.Serve(mux, jsonhttp.Misses{
		NotFound: func(w http.ResponseWriter, r *http.Request) {
			fail(w, http.StatusNotFound, "The route "+r.URL.Path+" could not be found.", "")
		},
		MethodNotAllowed: func(w http.ResponseWriter, r *http.Request, allow []string) {
			fail(w, http.StatusMethodNotAllowed, "The "+r.Method+" method is not supported for route "+
				r.URL.Path+". Supported methods: "+strings.Join(allow, ", ")+".", "")
		},
		Panic: func(w http.ResponseWriter, r *http.Request) {
			fail(w, http.StatusInternalServerError, "Server Error", "")
		},
	}, logger)
}
