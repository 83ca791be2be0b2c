package api

import (
	"context"
	"net/http"
	"time"
)

// readyTimeout bounds the store check of /readyz: a probe must get its
// answer well within a load balancer's own timeout.
const readyTimeout = time.Second

// healthz answers while the process serves HTTP at all (liveness): it asks
// nothing of the store, so an orchestrator does not restart a process
// only because its database is away.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeRaw(w, http.StatusOK, []byte("{\"status\":\"ok\"}\n"))
}

// readyz answers 200 while the store answers within readyTimeout and holds
// every migration of this build, 503 otherwise (readiness): a load
// balancer sends no API traffic to a node that could not serve it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.svc.Store.Ready(ctx); err != nil {
		s.logger.Warn("not ready", "err", err)
		w.Header().Set("Retry-After", "1")
		writeRaw(w, http.StatusServiceUnavailable, []byte("{\"status\":\"unavailable\"}\n"))
		return
	}
	writeRaw(w, http.StatusOK, []byte("{\"status\":\"ok\"}\n"))
}
