package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/subgate/subgate"
)

// BearerToken returns the token of an "Authorization: Bearer <token>" header,
// or "" when there is none.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authenticate resolves the caller: the admin or one reseller.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (subgate.Principal, error) {
	token := BearerToken(r)
	if token == "" {
		return subgate.Principal{}, subgate.Errorf(subgate.EUNAUTHORIZED, "missing bearer token (Authorization: Bearer <token>)")
	}
	return s.svc.Authenticate(ctx, token, subgate.TokenAPI)
}

// principalKey names the caller in idempotency records.
func principalKey(p subgate.Principal) string {
	if p.Admin {
		return "admin"
	}
	return "reseller:" + itoa(p.ResellerID)
}
