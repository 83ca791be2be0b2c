package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/subgate/subgate"
)

func TestAdminManagesResellers(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if a := b.loginAdmin(adminToken); a.status != http.StatusSeeOther {
		t.Fatalf("admin login: %d: %s", a.status, errorText(a.doc))
	}
	if a := b.get("/dashboard/"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/admin" {
		t.Fatalf("admin home: %d to %q", a.status, a.header.Get("Location"))
	}
	page := b.get("/dashboard/admin")
	csrf := inputValue(page.doc, "csrf")

	a := b.post("/dashboard/admin/resellers", url.Values{"csrf": {csrf}, "name": {"Acme"}, "email": {"ops@acme.test"}, "password": {"short"}})
	if a.status != http.StatusBadRequest || attr(find(a.doc, withAttr("input", "name", "password")), "aria-invalid") != "true" {
		t.Fatalf("short password: %d", a.status)
	}
	if inputValue(a.doc, "password") != "" || inputValue(a.doc, "name") != "Acme" {
		t.Error("a failed form must keep the name and never echo the password")
	}
	a = b.post("/dashboard/admin/resellers", url.Values{"csrf": {csrf}, "name": {"Acme"}, "email": {"ops@acme.test"}, "password": {"long-enough-1"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/admin?done=reseller" {
		t.Fatalf("create reseller: %d to %q: %s", a.status, a.header.Get("Location"), errorText(a.doc))
	}
	list, err := e.svc.Resellers(context.Background(), subgate.Principal{Admin: true})
	if err != nil || len(list) != 1 {
		t.Fatalf("resellers: %v, %v", list, err)
	}
	id := strconv.FormatInt(list[0].ID, 10)

	a = b.post("/dashboard/admin/resellers/"+id+"/credit", url.Values{"csrf": {csrf}, "product": {"res"}, "amount": {"12.5"}, "direction": {"credit"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("credit: %d: %s", a.status, errorText(a.doc))
	}
	a = b.post("/dashboard/admin/resellers/"+id+"/credit", url.Values{"csrf": {csrf}, "product": {"res"}, "amount": {"20"}, "direction": {"debit"}})
	if a.status != http.StatusUnprocessableEntity || errorText(a.doc) == "" {
		t.Fatalf("debit beyond the pool: %d", a.status)
	}
	if l := audit(t, e, list[0].ID)["res"]; l.Pool != 12_500_000_000 {
		t.Errorf("pool %d, want 12.5 GB", l.Pool)
	}

	a = b.post("/dashboard/admin/resellers/"+id+"/tokens", url.Values{"csrf": {csrf}})
	token := text(byID(a.doc, "new-token"))
	if a.status != http.StatusOK || token == "" {
		t.Fatalf("issue token: %d", a.status)
	}
	if p, err := e.svc.Authenticate(context.Background(), token, subgate.TokenAPI); err != nil || p.ResellerID != list[0].ID {
		t.Errorf("issued token: %+v, %v", p, err)
	}
	if byID(b.get("/dashboard/admin").doc, "new-token") != nil {
		t.Error("the token is shown again")
	}

	// The new reseller signs in with the email and password the admin set.
	rb := e.browser()
	rb.login("ops@acme.test", "long-enough-1")
	if a := rb.get("/dashboard/admin"); a.status != http.StatusNotFound {
		t.Errorf("reseller on the admin page: %d, want 404", a.status)
	}
	if a := rb.post("/dashboard/admin/resellers/"+id+"/credit", url.Values{"csrf": {rb.csrf()}, "product": {"res"}, "amount": {"100"}}); a.status != http.StatusNotFound {
		t.Errorf("reseller crediting itself: %d, want 404", a.status)
	}
	if a := b.get("/dashboard/subusers"); a.status != http.StatusNotFound {
		t.Errorf("admin on a reseller page: %d, want 404", a.status)
	}
}
