package subgate_test

import (
	"context"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func TestAdminDashboardSessions(t *testing.T) {
	ctx := context.Background()
	svc, r := newDashboardService(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	const admin = "the-admin-token-of-this-test"
	if _, err := svc.EnsureAdminToken(ctx, admin); err != nil {
		t.Fatal(err)
	}
	apiTok, _, err := svc.IssueToken(ctx, subgate.Principal{Admin: true}, r.ID, subgate.TokenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", apiTok, "not-the-admin-token"} {
		if _, err := svc.AdminDashboardLogin(ctx, tok); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
			t.Errorf("admin login with %.8q: %v, want unauthorized", tok, err)
		}
	}
	first, err := svc.AdminDashboardLogin(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	second, err := svc.AdminDashboardLogin(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := svc.AdminSession(ctx, first); err != nil || !p.Admin {
		t.Fatalf("session: %+v, %v", p, err)
	}
	// Neither is the admin token, nor does the admin token pass as a session.
	for _, tok := range []string{admin, apiTok, ""} {
		if _, err := svc.AdminSession(ctx, tok); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
			t.Errorf("AdminSession(%.8q): %v, want unauthorized", tok, err)
		}
	}
	if _, err := svc.Authenticate(ctx, first, subgate.TokenAPI); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("an admin session as an API token: %v", err)
	}

	if err := svc.EndAdminSession(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AdminSession(ctx, first); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("ended session: %v", err)
	}
	if _, err := svc.AdminSession(ctx, second); err != nil {
		t.Errorf("the other session ended too: %v", err)
	}
	for _, tok := range []string{"", "sgs_unknown", first} {
		if err := svc.EndAdminSession(ctx, tok); err != nil {
			t.Errorf("EndAdminSession(%q) = %v", tok, err)
		}
	}

	now = now.Add(subgate.DashboardSessionTTL)
	if _, err := svc.AdminSession(ctx, second); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("session after %s: %v", subgate.DashboardSessionTTL, err)
	}

	// A new admin token ends the sessions opened with the old one.
	third, err := svc.AdminDashboardLogin(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EnsureAdminToken(ctx, "a-rotated-admin-token-here"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AdminSession(ctx, third); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("session of the old admin token: %v", err)
	}
}

// The stored sessions stay bounded: the oldest make way.
func TestAdminDashboardSessionsAreBounded(t *testing.T) {
	ctx := context.Background()
	svc, _ := newDashboardService(t)
	const admin = "the-admin-token-of-this-test"
	if _, err := svc.EnsureAdminToken(ctx, admin); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for range 20 {
		s, err := svc.AdminDashboardLogin(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s)
	}
	if _, err := svc.AdminSession(ctx, secrets[0]); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("the oldest of 20 sessions is still live: %v", err)
	}
	if _, err := svc.AdminSession(ctx, secrets[19]); err != nil {
		t.Errorf("the newest session: %v", err)
	}
	v, err := svc.Store.Setting(ctx, "admin_dashboard_sessions")
	if err != nil || len(v) > 2000 {
		t.Errorf("stored sessions: %d bytes, %v", len(v), err)
	}
}
