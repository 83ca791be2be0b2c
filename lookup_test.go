package subgate_test

import (
	"context"
	"testing"

	"github.com/subgate/subgate"
)

// A reseller finds its own sub-users by username, never another's.
func TestSubUserByUsernameIsScoped(t *testing.T) {
	ctx := context.Background()
	svc, r := newDashboardService(t)
	other, err := svc.CreateReseller(ctx, subgate.Principal{Admin: true}, subgate.ResellerCreate{Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := svc.CreateSubUser(ctx, subgate.Principal{ResellerID: r.ID}, 0, subgate.SubUserCreate{Username: "alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateSubUser(ctx, subgate.Principal{ResellerID: other.ID}, 0, subgate.SubUserCreate{Username: "bob"}, ""); err != nil {
		t.Fatal(err)
	}
	u, err := svc.SubUserByUsername(ctx, subgate.Principal{ResellerID: r.ID}, "alice")
	if err != nil || u.ID != mine.ID {
		t.Fatalf("own sub-user: %v, %v", u, err)
	}
	for _, name := range []string{"bob", "nobody"} {
		if _, err := svc.SubUserByUsername(ctx, subgate.Principal{ResellerID: r.ID}, name); subgate.ErrorCode(err) != subgate.ENOTFOUND {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
	if u, err := svc.SubUserByUsername(ctx, subgate.Principal{Admin: true}, "bob"); err != nil || u.ResellerID != other.ID {
		t.Errorf("admin: %v, %v", u, err)
	}
}
