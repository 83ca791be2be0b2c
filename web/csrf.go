package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// csrfToken derives a form token from the session's secret. A page on
// another site can neither read the cookie nor the pages, so it cannot
// compute the token; SameSite=Strict alone would leave older browsers and
// same-site subdomains open.
func csrfToken(sessionSecret string) string {
	mac := hmac.New(sha256.New, []byte(sessionSecret))
	mac.Write([]byte("subgate dashboard form"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// checkCSRF reports whether a POST carries the session's form token.
func (s *Server) checkCSRF(r *http.Request, sess *session) bool {
	return equalStrings(r.PostFormValue("csrf"), sess.csrf)
}

func equalStrings(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}
