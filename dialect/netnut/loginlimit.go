package netnut

import (
	"net/http"
	"strconv"
	"time"

	"github.com/subgate/subgate/internal/loginlimit"
)

// loginRetryAfterS is the Retry-After of a limited login: the slowest
// refill of the limiter's buckets, the account's.
const loginRetryAfterS = int(loginlimit.AccountRefill / time.Second)

// tooManyLogins answers 429 in NetNut's envelope.
func tooManyLogins(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(loginRetryAfterS))
	fail(w, http.StatusTooManyRequests, "", "too many failed logins; try again later")
}
