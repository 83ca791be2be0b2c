package gateway

import (
	"time"

	"github.com/subgate/subgate/internal/loginlimit"
)

// authLimiter bounds failed proxy logins per source, per source and
// sub-user, and per sub-user from all sources (see package loginlimit).
type authLimiter = loginlimit.Limiter

// The gateway's bounds beyond the configured per-source one. Proxy clients
// retry quickly and a password change strands many of them at once, so the
// bounds are wider than the dashboard's; trust lasts a day because a client
// in use logs in again all the time.
var (
	authPair    = loginlimit.Rate{Burst: 10, Every: 10 * time.Second}
	authAccount = loginlimit.Rate{Burst: 50, Every: 5 * time.Second}
	authTrust   = 24 * time.Hour
)

// newAuthLimiter limits failures to burst, then perSecond, per source (IPv4
// address or IPv6 /64; a /48 gets ten times that), and to authPair and
// authAccount; every table keeps at most max keys.
func newAuthLimiter(perSecond float64, burst, max int) *authLimiter {
	every := time.Duration(float64(time.Second) / perSecond)
	return loginlimit.NewWith(loginlimit.Limits{
		Source:  loginlimit.Rate{Burst: burst, Every: every},
		Network: loginlimit.Rate{Burst: 10 * burst, Every: every / 10},
		Pair:    authPair,
		Account: authAccount,
		Trust:   authTrust,
		Max:     max,
	})
}
