package subgate_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
	"golang.org/x/crypto/bcrypt"
)

// Every refused login costs one bcrypt comparison, known email or not, so
// timing does not reveal which emails have accounts.
func TestLoginComparesEvenForUnknownEmails(t *testing.T) {
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
	ctx := context.Background()
	svc := subgate.NewService(store)
	// Cheap hashes: bcrypt at full cost is slow under the race detector.
	cheap := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	subgate.UseCheapPasswordHashes(t, cheap("nobody knows this"))
	if err := store.CreateReseller(ctx, &subgate.Reseller{Name: "a", Email: "a@example.com", PasswordHash: cheap("right-password")}); err != nil {
		t.Fatal(err)
	}
	checks := subgate.CountPasswordChecks(t)
	for _, tc := range []struct{ email, password, code string }{
		{"nobody@example.com", "right-password", subgate.EUNAUTHORIZED},
		{"a@example.com", "wrong-password", subgate.EUNAUTHORIZED},
		{"", "", subgate.EUNAUTHORIZED},
		{"A@Example.com", "right-password", ""},
	} {
		checks.Store(0)
		r, err := svc.Login(ctx, tc.email, tc.password)
		if subgate.ErrorCode(err) != tc.code || (tc.code == "" && r.Email != "a@example.com") {
			t.Errorf("%s: got %v, %v; want code %q", tc.email, r, err, tc.code)
		}
		if n := checks.Load(); n != 1 {
			t.Errorf("%s/%s: %d password comparisons, want 1", tc.email, tc.password, n)
		}
	}
}
