package subgate

import (
	"context"
	"encoding/json"
	"time"
)

// The admin has no reseller row to hang a session token on, so its
// dashboard sessions live in one setting: the live ones, newest last, at
// most maxAdminSessions. The browser keeps a session secret, never the
// admin token, so a copied cookie is no API credential, signing out ends
// it, and a new admin token ends them all. Two nodes signing in at the same
// moment may drop one of the two sessions; its admin signs in again.
const (
	settingAdminSessions = "admin_dashboard_sessions"
	maxAdminSessions     = 8
)

// adminSession is one admin dashboard session as stored.
type adminSession struct {
	Hash      string `json:"h"` // hex SHA-256 of the session secret
	Admin     string `json:"a"` // the admin token hash it was opened with
	ExpiresAt int64  `json:"e"` // unix nanoseconds
}

// AdminDashboardLogin checks the admin token and opens an admin dashboard
// session of DashboardSessionTTL; its secret is returned once.
func (s *Service) AdminDashboardLogin(ctx context.Context, token string) (string, error) {
	p, err := s.Authenticate(ctx, token, TokenAPI)
	if err == nil && !p.Admin {
		err = Errorf(EUNAUTHORIZED, "that is not the admin token")
	}
	if err != nil {
		return "", err
	}
	adminHash, err := s.Store.Setting(ctx, settingAdminTokenHash)
	if err != nil {
		return "", err
	}
	now := s.Now()
	live, err := s.adminSessions(ctx, adminHash, now)
	if err != nil {
		return "", err
	}
	secret := NewSecret("sgs_")
	live = append(live, adminSession{Hash: string(hexHash(secret)), Admin: adminHash, ExpiresAt: now.Add(DashboardSessionTTL).UnixNano()})
	if len(live) > maxAdminSessions {
		live = live[len(live)-maxAdminSessions:]
	}
	if err := s.saveAdminSessions(ctx, live); err != nil {
		return "", err
	}
	return secret, nil
}

// AdminSession resolves an admin dashboard session; one that expired,
// ended or was opened with an earlier admin token is EUNAUTHORIZED.
func (s *Service) AdminSession(ctx context.Context, secret string) (Principal, error) {
	unauthorized := Errorf(EUNAUTHORIZED, "invalid or expired session")
	if secret == "" {
		return Principal{}, unauthorized
	}
	adminHash, err := s.Store.Setting(ctx, settingAdminTokenHash)
	if err != nil {
		return Principal{}, err
	}
	live, err := s.adminSessions(ctx, adminHash, s.Now())
	if err != nil {
		return Principal{}, err
	}
	h := string(hexHash(secret))
	for _, a := range live {
		if EqualSecret(a.Hash, h) {
			return Principal{Admin: true}, nil
		}
	}
	return Principal{}, unauthorized
}

// EndAdminSession ends an admin dashboard session (a logout); an unknown
// or already ended one is not an error.
func (s *Service) EndAdminSession(ctx context.Context, secret string) error {
	if secret == "" {
		return nil
	}
	adminHash, err := s.Store.Setting(ctx, settingAdminTokenHash)
	if err != nil {
		return err
	}
	live, err := s.adminSessions(ctx, adminHash, s.Now())
	if err != nil {
		return err
	}
	h := string(hexHash(secret))
	kept := live[:0]
	for _, a := range live {
		if !EqualSecret(a.Hash, h) {
			kept = append(kept, a)
		}
	}
	return s.saveAdminSessions(ctx, kept)
}

// adminSessions reads the sessions still live at now that were opened with
// the current admin token. An unreadable value holds no session.
func (s *Service) adminSessions(ctx context.Context, adminHash string, now time.Time) ([]adminSession, error) {
	v, err := s.Store.Setting(ctx, settingAdminSessions)
	if err != nil || v == "" || adminHash == "" {
		return nil, err
	}
	var all []adminSession
	if json.Unmarshal([]byte(v), &all) != nil {
		return nil, nil
	}
	live := all[:0]
	for _, a := range all {
		if EqualSecret(a.Admin, adminHash) && now.UnixNano() < a.ExpiresAt {
			live = append(live, a)
		}
	}
	return live, nil
}

func (s *Service) saveAdminSessions(ctx context.Context, live []adminSession) error {
	b, err := json.Marshal(live)
	if err != nil {
		return err
	}
	return s.Store.SetSetting(ctx, settingAdminSessions, string(b))
}
