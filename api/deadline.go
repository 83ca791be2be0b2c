package api

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// DefaultStoreTimeout bounds one request, its store calls included, unless
// the server is configured otherwise.
const DefaultStoreTimeout = 5 * time.Second

// StoreDeadline gives every request a deadline of d, which its store calls
// honour: a database that hangs costs a client d, then an answer, instead
// of a request that never ends. The deadline covers the request's other
// work too (hashing a password, say), which takes milliseconds. The edges answer a store that missed the
// deadline or cannot be reached with 503 (subgate.EUNAVAILABLE, each in its
// own envelope); every 503 passing here gets a Retry-After, so clients and
// load balancers back off and come back.
func StoreDeadline(next http.Handler, d time.Duration) http.Handler {
	retry := strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(&retryAfterWriter{ResponseWriter: w, retry: retry}, r.WithContext(ctx))
	})
}

// retryAfterWriter adds Retry-After to a 503 answer that has none.
type retryAfterWriter struct {
	http.ResponseWriter
	retry string
}

func (w *retryAfterWriter) WriteHeader(code int) {
	if code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", w.retry)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *retryAfterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
