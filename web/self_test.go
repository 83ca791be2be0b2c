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

// A reseller gives a sub-user a dashboard password; the customer then sees
// its own sub-user, read-only, and nothing else.
func TestSubUserSeesOnlyItsOwnPage(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	alice := e.subUser(r, subgate.SubUserCreate{Username: "alice", Traffic: map[subgate.Product]int64{"res": 2 * subgate.BytesPerGB}})
	bob := e.subUser(r, subgate.SubUserCreate{Username: "bob", Name: "Bob the other", Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}})
	reseller := e.browser()
	reseller.login("ops@acme.test", "right-password")
	alicePath := "/dashboard/subusers/" + strconv.FormatInt(alice.ID, 10)
	a := reseller.post(alicePath+"/dashboard-login", url.Values{"csrf": {reseller.csrf()}, "email": {"alice@customer.test"}, "dashboard_password": {"alice-sees-1"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("set dashboard login: %d: %s", a.status, errorText(a.doc))
	}

	customer := e.browser()
	csrf := inputValue(customer.get("/dashboard/login").doc, "csrf")
	a = customer.post("/dashboard/login", url.Values{"csrf": {csrf}, "mode": {"subuser"}, "username": {"alice"}, "password": {"wrong-password"}})
	if a.status != http.StatusUnauthorized || customer.sessionCookie() != nil {
		t.Fatalf("wrong dashboard password: %d", a.status)
	}
	csrf = inputValue(customer.get("/dashboard/login").doc, "csrf")
	a = customer.post("/dashboard/login", url.Values{"csrf": {csrf}, "mode": {"subuser"}, "username": {"alice"}, "password": {"alice-sees-1"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("customer login: %d: %s", a.status, errorText(a.doc))
	}
	if a := customer.get("/dashboard/"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/me" {
		t.Fatalf("customer home: %d to %q", a.status, a.header.Get("Location"))
	}
	me := customer.get("/dashboard/me")
	if me.status != http.StatusOK || text(byID(me.doc, "cred-user")) != "alice" || text(byID(me.doc, "cred-pass")) != alice.Password {
		t.Fatalf("own page: %d, user %q", me.status, text(byID(me.doc, "cred-user")))
	}
	if strings.Contains(me.body, "bob") || strings.Contains(me.body, "Bob the other") {
		t.Error("the customer's page mentions another sub-user")
	}
	// Only forms: sign out. Nothing on the page changes the sub-user.
	for _, f := range findAll(me.doc, tagged("form")) {
		if attr(f, "action") != "/dashboard/logout" {
			t.Errorf("form to %s on the customer's page", attr(f, "action"))
		}
	}

	ownCSRF := inputValue(me.doc, "csrf")
	bobPath := "/dashboard/subusers/" + strconv.FormatInt(bob.ID, 10)
	for _, p := range []string{"/dashboard/subusers", alicePath, bobPath, "/dashboard/admin", "/dashboard/subusers/new"} {
		if a := customer.get(p); a.status != http.StatusNotFound {
			t.Errorf("customer GET %s: %d, want 404", p, a.status)
		}
	}
	for p, form := range map[string]url.Values{
		alicePath + "/traffic":         {"product": {"res"}, "amount": {"5"}, "direction": {"give"}},
		alicePath + "/password":        {"password": {"mine-now-1"}},
		alicePath + "/dashboard-login": {"email": {"x@y.test"}},
		bobPath + "/delete":            {"confirm": {"bob"}},
		"/dashboard/subusers":          {"username": {"carol"}},
	} {
		form.Set("csrf", ownCSRF)
		if a := customer.post(p, form); a.status != http.StatusNotFound {
			t.Errorf("customer POST %s: %d, want 404", p, a.status)
		}
	}
	ctx, rp := context.Background(), subgate.Principal{ResellerID: r.ID}
	for _, u := range []*subgate.SubUser{alice, bob} {
		got, err := e.svc.SubUser(ctx, rp, u.Hash)
		if err != nil || got.Password != u.Password || got.Traffic["res"] != u.Traffic["res"] {
			t.Errorf("%s changed by the customer: %+v, %v", u.Username, got, err)
		}
	}

	token := strings.TrimPrefix(customer.sessionCookie().Value, "u.")
	if a := customer.post("/dashboard/logout", url.Values{"csrf": {ownCSRF}}); a.status != http.StatusSeeOther {
		t.Fatalf("customer logout: %d", a.status)
	}
	if _, err := e.svc.SubUserSelf(ctx, token); subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
		t.Errorf("customer session after logout: %v", err)
	}
}
