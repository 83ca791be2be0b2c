package subgate_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func TestSubUserSessionSeesOnlyItself(t *testing.T) {
	ctx := context.Background()
	svc, r := newDashboardService(t)
	p := subgate.Principal{ResellerID: r.ID}
	mk := func(name, dashPassword string) *subgate.SubUser {
		u, err := svc.CreateSubUser(ctx, p, 0, subgate.SubUserCreate{Username: name, DashboardPassword: dashPassword}, "")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	alice, bob := mk("alice", "alice-dashboard"), mk("bob", "")
	checks := subgate.CountPasswordChecks(t)

	for _, tc := range []struct{ user, password string }{
		{"alice", "wrong-password"}, {"bob", ""}, {"bob", "anything"}, {"nobody", "alice-dashboard"}, {"ALICE", "alice-dashboard"},
	} {
		checks.Store(0)
		if _, _, err := svc.SubUserLogin(ctx, tc.user, tc.password); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
			t.Errorf("login %s/%s: %v, want unauthorized", tc.user, tc.password, err)
		}
		if n := checks.Load(); n != 1 {
			t.Errorf("login %s/%s: %d password comparisons, want 1", tc.user, tc.password, n)
		}
	}
	tok, u, err := svc.SubUserLogin(ctx, "alice", "alice-dashboard")
	if err != nil || u.ID != alice.ID {
		t.Fatalf("login: %v, %v", u, err)
	}
	got, err := svc.SubUserSelf(ctx, tok)
	if err != nil || got.ID != alice.ID {
		t.Fatalf("self: %v, %v", got, err)
	}
	// The session is good for nothing else.
	for _, kind := range []subgate.TokenKind{subgate.TokenAPI, subgate.TokenDashboard, subgate.TokenNetNut} {
		if _, err := svc.Authenticate(ctx, tok, kind); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
			t.Errorf("sub-user session accepted as %s: %v", kind, err)
		}
	}
	// Pointing the secret at another sub-user breaks it.
	forged := strings.Replace(tok, "_"+strconv.FormatInt(alice.ID, 10)+"_", "_"+strconv.FormatInt(bob.ID, 10)+"_", 1)
	if _, err := svc.SubUserSelf(ctx, forged); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("forged session: %v", err)
	}
	resellerTok, _, err := svc.DashboardLogin(ctx, "acme@example.com", "right-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SubUserSelf(ctx, resellerTok); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("reseller session as a sub-user's: %v", err)
	}

	now := time.Now()
	pts, err := svc.SubUserSelfUsage(ctx, tok, subgate.UsageQuery{SubUserIDs: []int64{bob.ID}, From: now.Add(-time.Hour), To: now})
	if err != nil || len(pts) != 0 {
		t.Errorf("usage: %v, %v", pts, err)
	}

	if err := svc.EndSession(ctx, tok, subgate.TokenSubUserDashboard); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SubUserSelf(ctx, tok); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("session after logout: %v", err)
	}

	// Changing the dashboard password ends its sessions, even when set to
	// the same value again.
	tok, _, err = svc.SubUserLogin(ctx, "alice", "alice-dashboard")
	if err != nil {
		t.Fatal(err)
	}
	same := "alice-dashboard"
	if _, err := svc.UpdateSubUser(ctx, p, strconv.FormatInt(alice.ID, 10), subgate.SubUserUpdate{DashboardPassword: &same}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SubUserSelf(ctx, tok); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("session after a password change: %v", err)
	}

	// Deleting the sub-user ends its sessions.
	tok, _, err = svc.SubUserLogin(ctx, "alice", "alice-dashboard")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteSubUser(ctx, p, strconv.FormatInt(alice.ID, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SubUserSelf(ctx, tok); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("session of a deleted sub-user: %v", err)
	}
	if _, _, err := svc.SubUserLogin(ctx, "alice", "alice-dashboard"); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("login of a deleted sub-user: %v", err)
	}
}

func TestSubUserSessionExpires(t *testing.T) {
	ctx := context.Background()
	svc, r := newDashboardService(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	if _, err := svc.CreateSubUser(ctx, subgate.Principal{ResellerID: r.ID}, 0, subgate.SubUserCreate{Username: "alice", DashboardPassword: "alice-dashboard"}, ""); err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.SubUserLogin(ctx, "alice", "alice-dashboard")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(subgate.DashboardSessionTTL)
	if _, err := svc.SubUserSelf(ctx, tok); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("session after %s: %v", subgate.DashboardSessionTTL, err)
	}
}
