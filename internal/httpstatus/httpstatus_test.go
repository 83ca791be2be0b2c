package httpstatus_test

import (
	"net/http"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/httpstatus"
)

func TestOf(t *testing.T) {
	for code, want := range map[string]int{
		subgate.EINVALID:      http.StatusBadRequest,
		subgate.EUNAUTHORIZED: http.StatusUnauthorized,
		subgate.EFORBIDDEN:    http.StatusForbidden,
		subgate.ENOTFOUND:     http.StatusNotFound,
		subgate.ECONFLICT:     http.StatusConflict,
		subgate.EINSUFFICIENT: http.StatusUnprocessableEntity,
		subgate.EUNAVAILABLE:  http.StatusServiceUnavailable,
		subgate.EINTERNAL:     http.StatusInternalServerError,
		"no_such_code":        http.StatusInternalServerError,
	} {
		if got := httpstatus.Of(code); got != want {
			t.Errorf("Of(%q) = %d, want %d", code, got, want)
		}
	}
}
