package ninep

import (
	"net/http"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// response is 9Proxy's success envelope.
type response struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Result  any    `json:"result,omitempty"`
}

// errorResponse is 9Proxy's failure envelope; errors is always an array.
type errorResponse struct {
	Success bool         `json:"success"`
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors"`
}

// fieldError says what is wrong with one field.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func fail(w http.ResponseWriter, status int, message, field string) {
	resp := errorResponse{Success: false, Message: message, Errors: []fieldError{}}
	if field != "" {
		resp.Errors = append(resp.Errors, fieldError{Field: field, Message: message})
	}
	jsonhttp.Write(w, status, resp)
}

// domainFields maps domain field names onto 9Proxy's.
var domainFields = map[string]string{
	"username":            "user_name",
	"password":            "use_key",
	"limits.usage_cap":    "usage_cap",
	"limits.ip_usage_cap": "ip_usage_cap",
	"sort":                "sort_by",
	"per_page":            "limit",
	"search":              "keyword",
}

// failWith answers a domain error in 9Proxy's envelope.
func (h *handler) failWith(w http.ResponseWriter, r *http.Request, err error) {
	field, message := jsonhttp.Rename(err, domainFields)
	switch subgate.ErrorCode(err) {
	case subgate.EINVALID, subgate.ECONFLICT, subgate.EINSUFFICIENT:
		fail(w, http.StatusBadRequest, message, field)
	case subgate.EUNAUTHORIZED:
		fail(w, http.StatusUnauthorized, "invalid or missing api-key", "api-key")
	case subgate.EFORBIDDEN:
		fail(w, http.StatusForbidden, message, "")
	case subgate.ENOTFOUND:
		fail(w, http.StatusNotFound, message, "")
	case subgate.EUNAVAILABLE:
		h.log.Warn("9proxy request failed: store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		fail(w, http.StatusServiceUnavailable, message, "")
	default:
		h.log.Error("9proxy request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		fail(w, http.StatusInternalServerError, "internal error", "")
	}
}
