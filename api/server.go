// Package api is the native REST API of subgate (/v1): JSON over HTTP with
// bearer tokens, an OpenAPI 3.1 document, one error envelope and idempotent
// writes. It translates HTTP to Service calls and back; business rules live
// in the Service.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Server serves the native API and hosts handlers of other edges (the
// provider dialects) on the same listener.
type Server struct {
	svc    *subgate.Service
	logger *slog.Logger
	mux    *http.ServeMux
	router Routes // nil when this server runs no gateway
}

// NewServer builds the API on top of a service.
func NewServer(svc *subgate.Service, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{svc: svc, logger: logger, mux: http.NewServeMux()}
	s.routes()
	return s
}

// Handler returns the HTTP handler of everything mounted on the server.
func (s *Server) Handler() http.Handler {
	return s.logRequests(s.recoverPanics(s.mux))
}

// Mount serves h under prefix (e.g. "/netnut"), next to /v1 on the same
// listener. The prefix is stripped, so a provider dialect written for
// "/v1/customer/…" answers at "/netnut/v1/customer/…"; the original path
// stays in r.RequestURI. The handler does its own authentication and errors.
func (s *Server) Mount(prefix string, h http.Handler) {
	prefix = "/" + strings.Trim(prefix, "/")
	s.mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
}

// request is what a route handler gets: the HTTP request, the authenticated
// caller and the already read body.
type request struct {
	*http.Request
	principal subgate.Principal
	body      []byte
	idemKey   string
}

// decode reads the JSON body into v, rejecting unknown fields and trailing
// data. An empty body decodes as {} when allowEmpty.
func (r *request) decode(v any, allowEmpty bool) error {
	body := bytes.TrimSpace(r.body)
	if len(body) == 0 {
		if allowEmpty {
			return nil
		}
		return &subgate.Error{Code: subgate.EINVALID, Message: "request body is required"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &subgate.Error{Code: subgate.EINVALID, Message: "body must hold a single JSON value"}
	}
	return nil
}

// response is what a route handler returns on success.
type response struct {
	status int
	body   any // nil for no body
}

func ok(v any) (response, error)      { return response{http.StatusOK, v}, nil }
func created(v any) (response, error) { return response{http.StatusCreated, v}, nil }
func noContent() (response, error)    { return response{status: http.StatusNoContent}, nil }

type handlerFunc func(ctx context.Context, r *request) (response, error)

// handle registers a route. Every route is authenticated; writes go through
// the idempotency layer.
func (s *Server) handle(pattern string, fn handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, hr *http.Request) {
		s.serve(w, hr, fn)
	})
}

func (s *Server) serve(w http.ResponseWriter, hr *http.Request, fn handlerFunc) {
	ctx := hr.Context()
	p, err := s.authenticate(ctx, hr)
	if err != nil {
		if subgate.ErrorCode(err) == subgate.EUNAUTHORIZED {
			w.Header().Set("WWW-Authenticate", `Bearer realm="subgate"`)
		}
		s.writeError(w, hr, err)
		return
	}
	r := &request{Request: hr, principal: p, idemKey: strings.TrimSpace(hr.Header.Get("Idempotency-Key"))}
	if r.body, err = readBody(w, hr); err != nil {
		s.writeError(w, hr, err)
		return
	}
	if hr.Method == http.MethodGet || hr.Method == http.MethodHead {
		status, body := s.run(ctx, r, fn)
		writeRaw(w, status, body)
		return
	}
	// A write that has started finishes even if the client goes away, so
	// its outcome (and idempotency record) never depends on a disconnect;
	// the store deadline (StoreDeadline) still bounds it.
	ctx = context.WithoutCancel(ctx)
	if deadline, ok := hr.Context().Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	if r.idemKey == "" {
		status, body := s.run(ctx, r, fn)
		writeRaw(w, status, body)
		return
	}
	s.serveIdempotent(ctx, w, r, fn)
}

// run calls the route handler and renders its answer as status and bytes.
// A panic becomes a 500 answer here, so an idempotency record is finished
// rather than left pending.
func (s *Server) run(ctx context.Context, r *request, fn handlerFunc) (status int, body []byte) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("api handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
			status, body = s.renderError(r.Request, subgate.Errorf(subgate.EINTERNAL, "internal error"))
		}
	}()
	resp, err := fn(ctx, r)
	if err != nil {
		return s.renderError(r.Request, err)
	}
	if resp.body == nil {
		return resp.status, nil
	}
	b, err := json.Marshal(resp.body)
	if err != nil {
		return s.renderError(r.Request, err)
	}
	return resp.status, append(b, '\n')
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return nil, decodeError(err)
	}
	return b, nil
}

func (s *Server) renderError(r *http.Request, err error) (int, []byte) {
	status, env := renderError(err)
	switch status {
	case http.StatusInternalServerError:
		s.logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		s.logger.Warn("api request failed: store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	b, _ := json.Marshal(env)
	return status, append(b, '\n')
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.renderError(r, err)
	writeRaw(w, status, body)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	if len(body) > 0 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	w.Write(body)
}

// logRequests logs every request at debug level with its status and time.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.logger.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", time.Since(start), "remote", r.RemoteAddr)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverPanics answers a panicking handler with a 500 envelope.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.Error("api handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.writeError(w, r, subgate.Errorf(subgate.EINTERNAL, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// notFound answers unknown /v1 paths, and known paths with an unsupported
// method, in the API's envelope instead of the mux's plain text.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/v1/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, &subgate.Error{Code: codeMethodNotAllowed, Message: r.Method + " is not allowed here"})
		return
	}
	s.writeError(w, r, subgate.NotFound("path "+r.URL.Path))
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /v1/openapi.json", s.serveOpenAPI)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("/v1/", s.notFound)

	s.handle("POST /v1/resellers", s.createReseller)
	s.handle("GET /v1/resellers", s.listResellers)
	s.handle("GET /v1/resellers/{id}", s.getReseller)
	s.handle("POST /v1/resellers/{id}/tokens", s.issueToken)
	s.handle("GET /v1/resellers/{id}/tokens", s.listTokens)
	s.handle("DELETE /v1/resellers/{id}/tokens/{token_id}", s.revokeToken)
	s.handle("POST /v1/resellers/{id}/credit", s.creditPool)
	s.handle("POST /v1/resellers/{id}/debit", s.debitPool)
	s.handle("GET /v1/me", s.me)

	s.handle("POST /v1/subusers", s.createSubUser)
	s.handle("GET /v1/subusers", s.listSubUsers)
	s.handle("GET /v1/subusers/{ref}", s.getSubUser)
	s.handle("PATCH /v1/subusers", s.updateSubUsers)
	s.handle("PATCH /v1/subusers/{ref}", s.updateSubUser)
	s.handle("DELETE /v1/subusers/{ref}", s.deleteSubUser)
	s.handle("POST /v1/subusers/{ref}/give", s.give)
	s.handle("POST /v1/subusers/{ref}/take", s.take)
	s.handle("POST /v1/subusers/{ref}/password", s.setPassword)
	s.handle("POST /v1/subusers/{ref}/disable", s.disable)
	s.handle("POST /v1/subusers/{ref}/enable", s.enable)
	s.handle("GET /v1/subusers/{ref}/usage", s.subUserUsage)
	s.handle("GET /v1/subusers/{ref}/ledger", s.subUserLedger)
	s.handle("GET /v1/subusers/{ref}/proxy-urls", s.proxyURLs)
	s.handle("GET /v1/usage", s.allUsage)
	s.handle("GET /v1/ledger", s.ledger)

	s.handle("POST /v1/static-ips", s.addStaticIPs)
	s.handle("GET /v1/static-ips", s.listStaticIPs)
	s.handle("DELETE /v1/static-ips/{id}", s.removeStaticIP)
	s.handle("POST /v1/subusers/{ref}/static-ips", s.allocateStaticIPs)
	s.handle("GET /v1/subusers/{ref}/static-ips", s.subUserStaticIPs)
	s.handle("DELETE /v1/subusers/{ref}/static-ips", s.releaseStaticIPs)

	s.handle("GET /v1/routes", s.getRoutes)
	s.handle("PUT /v1/routes", s.putRoutes)
	s.handle("DELETE /v1/routes", s.deleteRoutes)
	s.handle("GET /v1/routes/health", s.routesHealth)
}
