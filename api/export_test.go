package api

import "context"

// AddPanickingRoute registers a route whose handler panics, to test that
// panics are contained.
func (s *Server) AddPanickingRoute(pattern string) {
	s.handle(pattern, func(context.Context, *request) (response, error) { panic("boom") })
}
