package subgate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// TokenSubUserDashboard is a sub-user's own dashboard session: read-only,
// for its traffic, usage and proxy credentials.
const TokenSubUserDashboard TokenKind = "subuser_dashboard"

// subUserSessionPrefix starts a sub-user session secret, followed by the
// sub-user's id, '_', the password tag and '_'. Both are covered by the
// stored hash, so neither can be changed without the secret failing to
// match.
const subUserSessionPrefix = "sgu_"

// passwordTag names the dashboard password a session was opened with: a
// short digest of its bcrypt hash, whose salt changes with every new
// password. A session whose tag no longer matches ended with a password
// change.
func passwordTag(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:6])
}

// SubUserLogin checks a sub-user's proxy username and the dashboard password
// its reseller gave it, and opens a session of kind TokenSubUserDashboard
// (DashboardSessionTTL). An unknown username, or a sub-user without a
// dashboard password, costs the same bcrypt comparison.
func (s *Service) SubUserLogin(ctx context.Context, username, password string) (string, *SubUser, error) {
	u, err := s.Store.SubUserByUsername(ctx, username)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return "", nil, err
	}
	found := err == nil && u.DeletedAt == nil && u.DashboardPasswordHash != ""
	hash := dummyPasswordHash()
	if found {
		hash = u.DashboardPasswordHash
	}
	if !checkPassword(hash, password) || !found {
		return "", nil, Errorf(EUNAUTHORIZED, "wrong username or password")
	}
	secret := NewSecret(subUserSessionPrefix + strconv.FormatInt(u.ID, 10) + "_" + passwordTag(u.DashboardPasswordHash) + "_")
	exp := s.Now().Add(DashboardSessionTTL)
	t := &Token{ResellerID: u.ResellerID, Kind: TokenSubUserDashboard, Hash: HashSecret(secret), Prefix: SecretPrefix(secret), ExpiresAt: &exp}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	s.current(u)
	return secret, u, nil
}

// SubUserSelf resolves a sub-user session to its sub-user. A session that
// is revoked or expired, or whose sub-user was deleted or had its
// dashboard password changed or removed since, is EUNAUTHORIZED.
func (s *Service) SubUserSelf(ctx context.Context, token string) (*SubUser, error) {
	unauthorized := Errorf(EUNAUTHORIZED, "invalid or expired session")
	rest, ok := strings.CutPrefix(token, subUserSessionPrefix)
	idText, rest, ok2 := strings.Cut(rest, "_")
	tag, _, _ := strings.Cut(rest, "_")
	id, ok3 := IsNumericRef(idText)
	if !ok || !ok2 || !ok3 {
		return nil, unauthorized
	}
	t, err := s.Store.TokenByHash(ctx, HashSecret(token))
	if ErrorCode(err) == ENOTFOUND || (err == nil && (t.Kind != TokenSubUserDashboard || !t.Active(s.Now()))) {
		return nil, unauthorized
	}
	if err != nil {
		return nil, err
	}
	u, err := s.Store.SubUser(ctx, Scope(t.ResellerID), strconv.FormatInt(id, 10))
	if ErrorCode(err) == ENOTFOUND || (err == nil && (u.DashboardPasswordHash == "" || tag != passwordTag(u.DashboardPasswordHash))) {
		return nil, unauthorized
	}
	if err != nil {
		return nil, err
	}
	s.current(u)
	return u, nil
}

// SubUserSelfUsage is the usage series of a session's own sub-user; the
// query's sub-users are replaced by it.
func (s *Service) SubUserSelfUsage(ctx context.Context, token string, q UsageQuery) ([]UsagePoint, error) {
	u, err := s.SubUserSelf(ctx, token)
	if err != nil {
		return nil, err
	}
	q.SubUserIDs, q.BySubUser = []int64{u.ID}, false
	return s.Usage(ctx, Principal{ResellerID: u.ResellerID}, q)
}
