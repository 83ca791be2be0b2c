package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/httpstatus"
)

// errorBody is the one error envelope of the native API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Edge-only codes that have no domain counterpart.
const (
	codeTooLarge         = "too_large"
	codeMethodNotAllowed = "method_not_allowed"
)

// statusOf maps an error code onto an HTTP status: the API's own codes
// here, the domain's in httpstatus.
func statusOf(code string) int {
	switch code {
	case codeTooLarge:
		return http.StatusRequestEntityTooLarge
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	}
	return httpstatus.Of(code)
}

// renderError turns any error into a status and envelope. Internal errors
// are logged by the caller and answered with a generic message.
func renderError(err error) (int, errorBody) {
	code := subgate.ErrorCode(err)
	return statusOf(code), errorBody{Error: errorDetail{
		Code:    code,
		Message: subgate.ErrorMessage(err),
		Field:   subgate.ErrorField(err),
	}}
}

func errTooLarge(limit int64) error {
	return &subgate.Error{Code: codeTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", limit)}
}

// decodeError explains why a request body could not be decoded, naming the
// field where the decoder knows it.
func decodeError(err error) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		maxBytes *http.MaxBytesError
		domain   *subgate.Error
	)
	switch {
	case errors.As(err, &domain):
		return domain // from a type's own UnmarshalJSON
	case errors.As(err, &maxBytes):
		return errTooLarge(maxBytes.Limit)
	case errors.As(err, &syntax):
		return &subgate.Error{Code: subgate.EINVALID, Message: fmt.Sprintf("body is not valid JSON (at byte %d)", syntax.Offset)}
	case errors.As(err, &typ) && typ.Field == "":
		return &subgate.Error{Code: subgate.EINVALID, Message: "body must be " + describeType(typ)}
	case errors.As(err, &typ):
		return subgate.Invalidf(typ.Field, "must be %s", describeType(typ))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return subgate.Invalidf(name, "is not a known field")
	}
	return &subgate.Error{Code: subgate.EINVALID, Message: "body is not valid JSON: " + err.Error()}
}

// describeType names the JSON a Go type expects, for error messages.
func describeType(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind().String() {
	case "int64", "int", "int32":
		if strings.HasPrefix(e.Value, "number") {
			return "a whole number between -9223372036854775808 and 9223372036854775807"
		}
		return "a whole number"
	case "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	}
	return "of type " + e.Type.String()
}
