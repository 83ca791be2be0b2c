package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

func TestSharedSubUserInTheDashboard(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	newPage := b.get("/dashboard/subusers/new")
	if find(newPage.doc, withAttr("select", "name", "funding")) == nil {
		t.Fatal("the new sub-user form offers no funding choice")
	}
	a := b.post("/dashboard/subusers", url.Values{
		"csrf": {inputValue(newPage.doc, "csrf")}, "key": {inputValue(newPage.doc, "key")},
		"username": {"pooled"}, "funding": {"shared"}, "limits.usage_cap": {"3"},
	})
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", a.status, errorText(a.doc))
	}
	detail := b.get(loc)
	shared := text(byID(detail.doc, "shared-funding"))
	if !strings.Contains(shared, "May still use") || !strings.Contains(shared, "3") {
		t.Fatalf("detail shows %q", shared)
	}
	if byID(detail.doc, "traffic-form") != nil {
		t.Fatal("a shared sub-user's page offers give and take")
	}
	list := b.get("/dashboard/subusers")
	if !strings.Contains(text(byID(list.doc, "subusers")), "shared pool") {
		t.Fatal("the list does not show the funding mode")
	}

	// Switching an allocated sub-user to shared in its settings returns its traffic.
	u := e.subUser(r, subgate.SubUserCreate{Username: "given", Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}})
	path := "/dashboard/subusers/" + strconv.FormatInt(u.ID, 10)
	page := b.get(path)
	form := url.Values{"csrf": {b.csrf()}, "form": {"settings"}, "funding": {"shared"}}
	for _, k := range []string{"name", "note", "limits.daily", "limits.monthly", "limits.lifetime", "limits.usage_cap",
		"limits.ip_usage_cap", "limits.max_concurrency", "expires_at"} {
		form.Set(k, inputValue(page.doc, k))
	}
	if a := b.post(path+"/settings", form); a.status != http.StatusSeeOther {
		t.Fatalf("settings: %d %s", a.status, errorText(a.doc))
	}
	got, err := e.svc.SubUser(context.Background(), subgate.Principal{ResellerID: r.ID}, strconv.FormatInt(u.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	if got.Funding != subgate.FundingShared || got.TotalAvailable() != 0 {
		t.Fatalf("after switching: %q, %d available", got.Funding, got.TotalAvailable())
	}
	for p, l := range audit(t, e, r.ID) {
		if l.Pool+l.Available+l.Used != l.Credited-l.Debited {
			t.Fatalf("%s: books off: %+v", p, l)
		}
	}
}
