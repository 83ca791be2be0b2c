package subgate_test

import (
	"context"
	"testing"

	"github.com/subgate/subgate"
)

// A principal that is neither the admin nor a reseller sees nothing: an
// empty principal must never mean "everything".
func TestEmptyPrincipalSeesNothing(t *testing.T) {
	ctx := context.Background()
	svc, r := newDashboardService(t)
	u, err := svc.CreateSubUser(ctx, subgate.Principal{ResellerID: r.ID}, 0, subgate.SubUserCreate{Username: "alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var nobody subgate.Principal
	if _, err := svc.SubUser(ctx, nobody, u.Hash); subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Errorf("sub-user by hash: %v, want not found", err)
	}
	if _, err := svc.SubUserByUsername(ctx, nobody, "alice"); subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Errorf("sub-user by username: %v, want not found", err)
	}
	page, err := svc.SubUsers(ctx, nobody, subgate.SubUserFilter{})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("list: %v items, %v", page, err)
	}
	if l, err := svc.Ledger(ctx, nobody, subgate.LedgerFilter{}); err != nil || len(l) != 0 {
		t.Errorf("ledger: %d entries, %v", len(l), err)
	}
	if err := svc.DeleteSubUser(ctx, nobody, u.Hash); subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Errorf("delete: %v, want not found", err)
	}
}
