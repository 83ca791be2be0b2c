package subgate_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

func TestSubUserBulkUpdateValidate(t *testing.T) {
	s := func(v string) *string { return &v }
	n := func(v int64) *int64 { return &v }
	st := subgate.StatusDisabled
	ff := subgate.FundingShared
	ips := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	refs := []string{"1", "01ARZ3NDEKTSV4RRFFQ69G5FAV"}
	for _, tc := range []struct {
		name  string
		b     subgate.SubUserBulkUpdate
		field string // "" when valid
	}{
		{"status", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{Status: &st}}, ""},
		{"limits only", subgate.SubUserBulkUpdate{Refs: refs, Limits: &subgate.LimitsPatch{Daily: n(5)}}, ""},
		{"no refs", subgate.SubUserBulkUpdate{Update: subgate.SubUserUpdate{Status: &st}}, "subusers"},
		{"too many", subgate.SubUserBulkUpdate{Refs: make([]string, subgate.MaxBulkSubUsers+1), Update: subgate.SubUserUpdate{Status: &st}}, "subusers"},
		{"empty ref", subgate.SubUserBulkUpdate{Refs: []string{"1", ""}, Update: subgate.SubUserUpdate{Status: &st}}, "subusers"},
		{"no field", subgate.SubUserBulkUpdate{Refs: refs}, "subusers"},
		{"username", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{Username: s("same_name")}}, "username"},
		{"password", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{Password: s("secret12")}}, "password"},
		{"email", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{Email: s("a@b.test")}}, "email"},
		{"dashboard", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{DashboardPassword: s("long enough")}}, "dashboard_password"},
		{"funding", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{Funding: &ff}}, "funding"},
		{"allow_ips", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{AllowIPs: &ips}}, "allow_ips"},
		{"allow_ips_was", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{Note: s("x"), AllowIPsWas: &ips}}, "allow_ips"},
		{"whole limits", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{Limits: &subgate.Limits{}}}, "limits"},
		// The single update's own rules apply unchanged.
		{"long note", subgate.SubUserBulkUpdate{Refs: refs, Update: subgate.SubUserUpdate{Note: s(strings.Repeat("x", 2001))}}, "note"},
		{"negative limit", subgate.SubUserBulkUpdate{Refs: refs, Limits: &subgate.LimitsPatch{Monthly: n(-1)}}, "limits.monthly"},
	} {
		err := tc.b.Validate()
		if got := subgate.ErrorField(err); got != tc.field || (tc.field != "" && subgate.ErrorCode(err) != subgate.EINVALID) {
			t.Errorf("%s: %v, want field %q", tc.name, err, tc.field)
		}
	}
}

func TestLimitsPatchApply(t *testing.T) {
	d, c := int64(10), int64(0)
	got := subgate.LimitsPatch{Daily: &d, MaxConcurrency: &c}.Apply(subgate.Limits{Daily: 1, Monthly: 2, MaxConcurrency: 3})
	if want := (subgate.Limits{Daily: 10, Monthly: 2}); got != want {
		t.Fatalf("Apply = %+v, want %+v", got, want)
	}
}
