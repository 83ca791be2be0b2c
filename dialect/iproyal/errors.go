package iproyal

import (
	"net/http"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// errorResponse is Laravel's error body; Errors is only set for bad input.
type errorResponse struct {
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors,omitempty"`
}

// fail answers an error; a non-empty field makes it a validation error.
func fail(w http.ResponseWriter, status int, message, field string) {
	resp := errorResponse{Message: message}
	if field != "" {
		resp.Errors = map[string][]string{field: {message}}
	}
	jsonhttp.Write(w, status, resp)
}

// domainFields maps domain field names onto IPRoyal's.
var domainFields = map[string]string{
	"traffic.res":     "traffic",
	"limits.daily":    "limits.daily_limit",
	"limits.monthly":  "limits.monthly_limit",
	"limits.lifetime": "limits.lifetime_limit",
	"bytes":           "amount",
}

// failWith answers a domain error in Laravel's shape. fallback names the
// field blamed for errors of input that carry none (a short pool, a taken
// username).
func (h *handler) failWith(w http.ResponseWriter, r *http.Request, err error, fallback string) {
	field, message := jsonhttp.Rename(err, domainFields)
	switch code := subgate.ErrorCode(err); code {
	case subgate.EINVALID, subgate.ECONFLICT, subgate.EINSUFFICIENT:
		if field == "" {
			field = fallback
		}
		if field == "" {
			field = "request"
		}
		fail(w, http.StatusUnprocessableEntity, message, field)
	case subgate.EUNAUTHORIZED:
		fail(w, http.StatusUnauthorized, "Unauthenticated.", "")
	case subgate.EFORBIDDEN:
		fail(w, http.StatusForbidden, message, "")
	case subgate.ENOTFOUND:
		fail(w, http.StatusNotFound, message, "")
	case subgate.EUNAVAILABLE:
		h.log.Warn("iproyal request failed: store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		fail(w, http.StatusServiceUnavailable, message, "")
	default:
		h.log.Error("iproyal request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		fail(w, http.StatusInternalServerError, "Server Error", "")
	}
}
