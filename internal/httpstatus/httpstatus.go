// Package httpstatus maps the domain's error codes onto HTTP statuses for
// the edges that answer in subgate's own terms (the native API, the
// dashboard). Provider dialects keep their own mappings: each provider
// answers with its own status codes.
package httpstatus

import (
	"net/http"

	"github.com/subgate/subgate"
)

// Of is the HTTP status of a domain error code; an unknown code is a 500.
func Of(code string) int {
	switch code {
	case subgate.EINVALID:
		return http.StatusBadRequest
	case subgate.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case subgate.EFORBIDDEN:
		return http.StatusForbidden
	case subgate.ENOTFOUND:
		return http.StatusNotFound
	case subgate.ECONFLICT:
		return http.StatusConflict
	case subgate.EINSUFFICIENT:
		return http.StatusUnprocessableEntity
	case subgate.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
