package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

func TestCreateSetsUsageCapAndAllowList(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	a := b.post("/dashboard/subusers", url.Values{
		"csrf": {b.csrf()}, "username": {"alice"}, "limits.usage_cap": {"1.5"},
		"allow_ips": {"203.0.113.0/24\r\n\r\n198.51.100.7\n"},
	})
	if a.status != http.StatusSeeOther {
		t.Fatalf("create: %d: %s", a.status, errorText(a.doc))
	}
	u, err := e.svc.SubUser(context.Background(), subgate.Principal{ResellerID: r.ID}, strings.TrimSuffix(strings.TrimPrefix(a.header.Get("Location"), "/dashboard/subusers/"), "?done=created"))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.7/32")}
	if u.Limits.UsageCap != 1_500_000_000 || fmt.Sprint(u.AllowIPs) != fmt.Sprint(want) {
		t.Errorf("usage cap %d, allow list %v", u.Limits.UsageCap, u.AllowIPs)
	}
	// The settings form shows them back.
	page := b.get("/dashboard/subusers/" + strconv.FormatInt(u.ID, 10))
	if v := inputValue(page.doc, "limits.usage_cap"); v != "1.5" {
		t.Errorf("usage cap input %q", v)
	}
	if v := text(find(page.doc, withAttr("textarea", "name", "allow_ips"))); v != "203.0.113.0/24\n198.51.100.7/32" {
		t.Errorf("allow list textarea %q", v)
	}
}

func TestCreateWithABadAllowListCreatesNothing(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	for _, tc := range []struct{ allow, field string }{
		{"203.0.113.0/24\n\nnot-an-ip", "allow_ips[1]"}, // blank lines do not count
		{"203.0.113.0/24\n198.51.100.0/24\n10.0.0.0/8", "allow_ips[2]"},
	} {
		a := b.post("/dashboard/subusers", url.Values{"csrf": {b.csrf()}, "username": {"alice"}, "allow_ips": {tc.allow}})
		if a.status != http.StatusBadRequest {
			t.Fatalf("%q: %d, want 400", tc.allow, a.status)
		}
		area := find(a.doc, withAttr("textarea", "name", "allow_ips"))
		msg := text(find(area.Parent, withClass("small", "field-error")))
		if attr(area, "aria-invalid") != "true" || !strings.HasPrefix(msg, tc.field+" ") {
			t.Errorf("%q: textarea error %q, want one about %s", tc.allow, msg, tc.field)
		}
		if text(area) != tc.allow {
			t.Errorf("%q: typed list not kept: %q", tc.allow, text(area))
		}
	}
	page, err := e.svc.SubUsers(context.Background(), subgate.Principal{ResellerID: r.ID}, subgate.SubUserFilter{WithTotal: true})
	if err != nil || page.Total != 0 {
		t.Errorf("sub-users after bad forms: %d, %v", page.Total, err)
	}
}

func TestSettingsEditUsageCapAndAllowList(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice", Limits: subgate.Limits{UsageCap: 2 * subgate.BytesPerGB},
		AllowIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	path := "/dashboard/subusers/" + strconv.FormatInt(u.ID, 10)
	ctx, p := context.Background(), subgate.Principal{ResellerID: r.ID}

	// A too-broad entry is refused by the domain: nothing changes and the
	// error stands at the textarea, with what was typed.
	bad := "198.51.100.0/24\n10.0.0.0/8"
	a := b.post(path+"/settings", url.Values{"csrf": {b.csrf()}, "form": {"settings"}, "name": {"Alice"},
		"limits.usage_cap": {"3"}, "allow_ips": {bad}})
	if a.status != http.StatusBadRequest {
		t.Fatalf("bad allow list: %d", a.status)
	}
	area := find(a.doc, withAttr("textarea", "name", "allow_ips"))
	if msg := text(find(area.Parent, withClass("small", "field-error"))); !strings.HasPrefix(msg, "allow_ips[1] ") || text(area) != bad {
		t.Errorf("textarea shows %q with error %q", text(area), msg)
	}
	got, err := e.svc.SubUser(ctx, p, u.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "" || got.Limits.UsageCap != 2*subgate.BytesPerGB || fmt.Sprint(got.AllowIPs) != "[203.0.113.0/24]" {
		t.Errorf("a refused settings form changed the sub-user: %+v", got)
	}

	a = b.post(path+"/settings", url.Values{"csrf": {b.csrf()}, "form": {"settings"}, "limits.usage_cap": {"0.25"},
		"allow_ips": {"198.51.100.9\n2001:db8::/48"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != path+"?done=settings" {
		t.Fatalf("settings: %d: %s", a.status, errorText(a.doc))
	}
	if got, err = e.svc.SubUser(ctx, p, u.Hash); err != nil {
		t.Fatal(err)
	}
	if got.Limits.UsageCap != 250_000_000 || fmt.Sprint(got.AllowIPs) != "[198.51.100.9/32 2001:db8::/48]" {
		t.Errorf("after settings: usage cap %d, allow list %v", got.Limits.UsageCap, got.AllowIPs)
	}

	// Emptied fields clear the cap and the list.
	a = b.post(path+"/settings", url.Values{"csrf": {b.csrf()}, "form": {"settings"}, "limits.usage_cap": {""}, "allow_ips": {"\n"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("clearing settings: %d: %s", a.status, errorText(a.doc))
	}
	if got, err = e.svc.SubUser(ctx, p, u.Hash); err != nil {
		t.Fatal(err)
	}
	if got.Limits.UsageCap != 0 || len(got.AllowIPs) != 0 {
		t.Errorf("after clearing: usage cap %d, allow list %v", got.Limits.UsageCap, got.AllowIPs)
	}
}
