package jsonhttp

import (
	"log/slog"
	"net/http"
	"strings"
)

// Misses answers the requests a dialect's routes do not serve, in the
// dialect's own envelope.
type Misses struct {
	// NotFound answers a path no route serves.
	NotFound func(w http.ResponseWriter, r *http.Request)
	// MethodNotAllowed answers a known path asked with another method; allow
	// lists the methods the path serves.
	MethodNotAllowed func(w http.ResponseWriter, r *http.Request, allow []string)
	// Panic answers after a handler panicked (the panic is logged, never sent).
	Panic func(w http.ResponseWriter, r *http.Request)
}

var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Serve wraps mux so that unknown routes, wrong methods and panics are
// answered by m instead of net/http's plain-text pages.
func Serve(mux *http.ServeMux, m Misses, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer recoverPanic(w, r, m, logger)
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		if allow := allowed(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			m.MethodNotAllowed(w, r, allow)
			return
		}
		m.NotFound(w, r)
	})
}

// allowed lists the methods some route serves for r's path.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, method := range methods {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := mux.Handler(probe); pattern != "" {
			allow = append(allow, method)
		}
	}
	return allow
}

func recoverPanic(w http.ResponseWriter, r *http.Request, m Misses, logger *slog.Logger) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	logger.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
	m.Panic(w, r)
}
