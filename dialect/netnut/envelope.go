package netnut

import (
	"net/http"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// dataResponse is NetNut's success wrapper around sub-users or usage rows.
type dataResponse struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
	Data    any    `json:"data"`
}

// messageResponse is NetNut's success or failure with a message only.
type messageResponse struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func fail(w http.ResponseWriter, status int, field, message string) {
	jsonhttp.Write(w, status, messageResponse{Success: false, Message: message, Field: field})
}

// domainFields maps domain field names onto NetNut's request fields.
var domainFields = map[string]string{
	"username":           "customer_login_name",
	"password":           "customer_login_pwd",
	"name":               "customer_name",
	"email":              "customer_dashboard_email",
	"dashboard_password": "customer_dashboard_pwd",
	"product":            "product_type",
	"bytes":              "allocate",
	"private_pool":       "snkrs_private_pool",
}

// statusOf maps a domain error code onto NetNut's status codes: NetNut
// answers every rejected request with 400, except authentication (401) and
// objects that are not the caller's (404, never 403).
func statusOf(code string) int {
	switch code {
	case subgate.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case subgate.EFORBIDDEN:
		return http.StatusForbidden
	case subgate.ENOTFOUND:
		return http.StatusNotFound
	case subgate.EINTERNAL:
		return http.StatusInternalServerError
	case subgate.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// failWith answers a domain error; extra renames fields specific to the endpoint.
func (h *handler) failWith(w http.ResponseWriter, r *http.Request, err error, extra map[string]string) {
	code := subgate.ErrorCode(err)
	switch code {
	case subgate.EINTERNAL:
		h.log.Error("netnut request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case subgate.EUNAVAILABLE:
		h.log.Warn("netnut request failed: store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	names := domainFields
	if extra != nil {
		names = make(map[string]string, len(domainFields)+len(extra))
		for k, v := range domainFields {
			names[k] = v
		}
		for k, v := range extra {
			names[k] = v
		}
	}
	field, message := jsonhttp.Rename(err, names)
	fail(w, statusOf(code), field, message)
}
