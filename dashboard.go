package subgate

import (
	"context"
	"time"
)

// TokenDashboard is a reseller's web dashboard session, issued at login.
const TokenDashboard TokenKind = "dashboard"

// DashboardSessionTTL is how long a dashboard login lasts.
const DashboardSessionTTL = 12 * time.Hour

// DashboardLogin checks a reseller's email and password (see Login) and opens
// a dashboard session: a token of kind TokenDashboard, stored hashed like
// every token so sessions survive restarts and are shared by nodes on one
// database. The secret is returned once, to be kept by the browser.
func (s *Service) DashboardLogin(ctx context.Context, email, password string) (string, *Reseller, error) {
	r, err := s.Login(ctx, email, password)
	if err != nil {
		return "", nil, err
	}
	secret := NewSecret("sgd_")
	exp := s.Now().Add(DashboardSessionTTL)
	t := &Token{ResellerID: r.ID, Kind: TokenDashboard, Hash: HashSecret(secret), Prefix: SecretPrefix(secret), ExpiresAt: &exp}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	return secret, r, nil
}

// EndSession revokes a session token of the given kind (a logout). A token
// that is unknown, of another kind or already ended is not an error: the
// session is over either way.
func (s *Service) EndSession(ctx context.Context, token string, kind TokenKind) error {
	if token == "" {
		return nil
	}
	t, err := s.Store.TokenByHash(ctx, HashSecret(token))
	if ErrorCode(err) == ENOTFOUND || (err == nil && t.Kind != kind) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.Store.RevokeToken(ctx, t.ResellerID, t.ID, s.Now())
}
