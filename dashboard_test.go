package subgate_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
	"golang.org/x/crypto/bcrypt"
)

func newDashboardService(t *testing.T) (*subgate.Service, *subgate.Reseller) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	cipher, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "subgate.db"), cipher)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h, err := bcrypt.GenerateFromPassword([]byte("right-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	subgate.UseCheapPasswordHashes(t, string(h))
	r := &subgate.Reseller{Name: "Acme", Email: "acme@example.com", PasswordHash: string(h)}
	if err := store.CreateReseller(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return subgate.NewService(store), r
}

func TestDashboardSessionIsItsOwnKindAndExpires(t *testing.T) {
	ctx := context.Background()
	svc, r := newDashboardService(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }

	if _, _, err := svc.DashboardLogin(ctx, "acme@example.com", "wrong-password"); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v, want unauthorized", err)
	}
	tok, got, err := svc.DashboardLogin(ctx, "ACME@example.com", "right-password")
	if err != nil || got.ID != r.ID {
		t.Fatalf("login: %v, %v", got, err)
	}
	p, err := svc.Authenticate(ctx, tok, subgate.TokenDashboard)
	if err != nil || p.Admin || p.ResellerID != r.ID {
		t.Fatalf("dashboard token: %+v, %v", p, err)
	}
	for _, kind := range []subgate.TokenKind{subgate.TokenAPI, subgate.TokenNetNut} {
		if _, err := svc.Authenticate(ctx, tok, kind); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
			t.Errorf("dashboard token accepted as %s: %v", kind, err)
		}
	}
	apiTok, _, err := svc.IssueToken(ctx, subgate.Principal{Admin: true}, r.ID, subgate.TokenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, apiTok, subgate.TokenDashboard); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("API token accepted as a dashboard session: %v", err)
	}

	now = now.Add(subgate.DashboardSessionTTL)
	if _, err := svc.Authenticate(ctx, tok, subgate.TokenDashboard); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("session still valid after %s: %v", subgate.DashboardSessionTTL, err)
	}
}

func TestEndSessionRevokesOnlyThatSession(t *testing.T) {
	ctx := context.Background()
	svc, r := newDashboardService(t)
	first, _, err := svc.DashboardLogin(ctx, "acme@example.com", "right-password")
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := svc.DashboardLogin(ctx, "acme@example.com", "right-password")
	if err != nil {
		t.Fatal(err)
	}
	apiTok, _, err := svc.IssueToken(ctx, subgate.Principal{Admin: true}, r.ID, subgate.TokenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EndSession(ctx, first, subgate.TokenDashboard); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, first, subgate.TokenDashboard); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("ended session still valid: %v", err)
	}
	if _, err := svc.Authenticate(ctx, second, subgate.TokenDashboard); err != nil {
		t.Errorf("the other session ended too: %v", err)
	}
	// An API token passed as a dashboard session is left alone.
	if err := svc.EndSession(ctx, apiTok, subgate.TokenDashboard); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, apiTok, subgate.TokenAPI); err != nil {
		t.Errorf("API token revoked by a dashboard logout: %v", err)
	}
	for _, tok := range []string{"", "sgd_unknown", first} {
		if err := svc.EndSession(ctx, tok, subgate.TokenDashboard); err != nil {
			t.Errorf("EndSession(%q) = %v, want nil", tok, err)
		}
	}
}
