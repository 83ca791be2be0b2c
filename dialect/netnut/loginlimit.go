package netnut

import (
	"net/http"
	"strconv"
)

// loginRetryAfterS is the Retry-After of a limited login, one refill of
// the limiter's bucket.
const loginRetryAfterS = 6

// tooManyLogins answers 429 in NetNut's envelope.
func tooManyLogins(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(loginRetryAfterS))
	fail(w, http.StatusTooManyRequests, "", "too many failed logins from this address; try again later")
}
