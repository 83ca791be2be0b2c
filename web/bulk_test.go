package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/subgate/subgate"
)

// statuses reads the sub-users' statuses as the reseller sees them, by
// username.
func statuses(t *testing.T, e *env, r *subgate.Reseller, us ...*subgate.SubUser) map[string]subgate.Status {
	t.Helper()
	out := map[string]subgate.Status{}
	for _, u := range us {
		got, err := e.svc.SubUser(context.Background(), subgate.Principal{ResellerID: r.ID}, u.Hash)
		if err != nil {
			t.Fatal(err)
		}
		out[got.Username] = got.Status
	}
	return out
}

// bulkForm is the list's selection form: where it posts and its token.
func bulkForm(t *testing.T, a answer) (action, csrf string) {
	t.Helper()
	form := byID(a.doc, "bulk-form")
	if form == nil || attr(form, "method") != "post" {
		t.Fatalf("no selection form on the list (%d)", a.status)
	}
	return attr(form, "action"), inputValue(form, "csrf")
}

func ids(us ...*subgate.SubUser) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = strconv.FormatInt(u.ID, 10)
	}
	return out
}

func TestBulkActionsChangeTheSelectedAndKeepTheList(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 0)
	// 25 sub-users fill the first page, so the three go to the second.
	for i := range 25 {
		e.subUser(r, subgate.SubUserCreate{Username: fmt.Sprintf("aaa%02d", i), Name: "Acme shop"})
	}
	var shop []*subgate.SubUser
	for _, name := range []string{"shopa", "shopb", "shopc"} {
		shop = append(shop, e.subUser(r, subgate.SubUserCreate{Username: name, Name: "Acme shop"}))
	}
	b := e.browser()
	b.login("ops@acme.test", "right-password")

	first := b.get("/dashboard/subusers?search=shop&status=active&sort=username&order=asc")
	second := b.get(attr(find(first.doc, withAttr("a", "rel", "next")), "href"))
	if second.status != http.StatusOK {
		t.Fatalf("second page: %d", second.status)
	}
	for _, u := range shop {
		box := find(second.doc, withAttr("input", "aria-label", "Select "+u.Username))
		if attr(box, "type") != "checkbox" || attr(box, "name") != "id" || attr(box, "value") != strconv.FormatInt(u.ID, 10) {
			t.Errorf("no labelled checkbox for %s", u.Username)
		}
	}
	// Enter in any box or field presses the form's first button: the form
	// has only one, which applies the chosen action, and none is chosen
	// until the visitor picks one.
	form := byID(second.doc, "bulk-form")
	if buttons := findAll(form, tagged("button")); len(buttons) != 1 || attr(buttons[0], "name") != "" {
		t.Errorf("the selection form has %d buttons, want one that carries no action of its own", len(buttons))
	}
	menu := find(form, withAttr("select", "name", "action"))
	if options := findAll(menu, tagged("option")); len(options) == 0 || attr(options[0], "value") != "" ||
		find(menu, func(n *html.Node) bool { return n.Data == "option" && hasAttr(n, "selected") }) != nil {
		t.Error("the action menu does not start at a choice that does nothing")
	}
	action, csrf := bulkForm(t, second)
	listQuery := func(loc string) url.Values {
		t.Helper()
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		return u.Query()
	}
	wantQuery := listQuery(attr(find(first.doc, withAttr("a", "rel", "next")), "href"))
	if got := listQuery(action); !strings.HasPrefix(action, "/dashboard/subusers/bulk?") || got.Encode() != wantQuery.Encode() {
		t.Fatalf("the form posts to %q, want the list's query %v", action, wantQuery)
	}

	a := b.post(action, url.Values{"csrf": {csrf}, "action": {"disable"}, "id": ids(shop[0], shop[1])})
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/subusers?") {
		t.Fatalf("disable selected: %d to %q: %s", a.status, loc, errorText(a.doc))
	}
	got := listQuery(loc)
	if got.Get("done") != "bulk-disabled" || got.Get("n") != "2" {
		t.Errorf("redirect %q does not report two disabled", loc)
	}
	got.Del("done")
	got.Del("n")
	if got.Encode() != wantQuery.Encode() {
		t.Errorf("redirect keeps %v, want %v", got, wantQuery)
	}
	if st := statuses(t, e, r, shop...); st["shopa"] != subgate.StatusDisabled || st["shopb"] != subgate.StatusDisabled || st["shopc"] != subgate.StatusActive {
		t.Errorf("after disabling shopa and shopb: %v", st)
	}
	back := b.get(loc)
	if n := text(find(back.doc, withClass("p", "notice"))); n != "2 sub-users disabled." {
		t.Errorf("notice %q", n)
	}
	// The list still shows active ones only: of the three, shopc.
	if rows := findAll(back.doc, func(n *html.Node) bool { return n.Data == "tr" && hasAttr(n, "data-username") }); len(rows) != 1 || attr(rows[0], "data-username") != "shopc" {
		t.Errorf("second page of active ones after the change: %d rows", len(rows))
	}

	for _, step := range []struct {
		form   url.Values
		notice string
	}{
		{url.Values{"action": {"enable"}, "id": ids(shop[1])}, "1 sub-user enabled."},
		{url.Values{"action": {"expiry"}, "expires_at": {"2030-01-31T12:00"}, "id": ids(shop[1], shop[2])}, "Expiry set on 2 sub-users."},
		{url.Values{"action": {"note"}, "note": {" end customer 7 "}, "id": ids(shop...)}, "Note set on 3 sub-users."},
		{url.Values{"action": {"expiry"}, "expires_at": {""}, "id": ids(shop[2])}, "Expiry removed from 1 sub-user."},
	} {
		step.form.Set("csrf", csrf)
		a := b.post("/dashboard/subusers/bulk", step.form)
		if a.status != http.StatusSeeOther {
			t.Fatalf("%v: %d: %s", step.form, a.status, errorText(a.doc))
		}
		if n := text(find(b.get(a.header.Get("Location")).doc, withClass("p", "notice"))); n != step.notice {
			t.Errorf("%v: notice %q, want %q", step.form, n, step.notice)
		}
	}
	want := time.Date(2030, 1, 31, 12, 0, 0, 0, time.UTC)
	for i, u := range shop {
		got, err := e.svc.SubUser(context.Background(), subgate.Principal{ResellerID: r.ID}, u.Hash)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus, wantExpiry := subgate.StatusActive, i == 1
		if i == 0 {
			wantStatus = subgate.StatusDisabled
		}
		if got.Status != wantStatus || (got.ExpiresAt != nil) != wantExpiry || (wantExpiry && !got.ExpiresAt.Equal(want)) || got.Note != "end customer 7" {
			t.Errorf("%s: status %s, expiry %v, note %q", u.Username, got.Status, got.ExpiresAt, got.Note)
		}
	}
}

// A ref of another reseller's sub-user fails the whole form as one that
// does not exist does, and names nothing of it.
func TestBulkWithAnotherResellersSubUserChangesNothing(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 0)
	mine := e.subUser(r, subgate.SubUserCreate{Username: "mine"})
	rival := e.reseller("Rival", "ops@rival.test", "rival-password", 0)
	theirs := e.subUser(rival, subgate.SubUserCreate{Username: "theirs", Name: "Rival's customer"})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	action, csrf := bulkForm(t, b.get("/dashboard/subusers?sort=username"))

	gone := strconv.FormatInt(theirs.ID+1000, 10)
	for _, ref := range []string{strconv.FormatInt(theirs.ID, 10), theirs.Hash, gone} {
		a := b.post(action, url.Values{"csrf": {csrf}, "action": {"disable"}, "id": {strconv.FormatInt(mine.ID, 10), ref}})
		if a.status != http.StatusNotFound || errorText(a.doc) != "sub-user "+ref+" not found" {
			t.Errorf("with %s: %d %q, want 404 saying it is not found", ref, a.status, errorText(a.doc))
		}
		if strings.Contains(a.body, "theirs") || strings.Contains(a.body, "Rival") {
			t.Errorf("with %s: the page shows the rival's sub-user", ref)
		}
		// The list is shown again with the selection kept.
		if box := find(a.doc, withAttr("input", "aria-label", "Select mine")); !hasAttr(box, "checked") {
			t.Errorf("with %s: the selection is not kept", ref)
		}
	}
	if st := statuses(t, e, r, mine); st["mine"] != subgate.StatusActive {
		t.Errorf("own sub-user changed by a refused form: %v", st)
	}
	if st := statuses(t, e, rival, theirs); st["theirs"] != subgate.StatusActive {
		t.Errorf("rival's sub-user changed: %v", st)
	}
}

func TestBulkRefusalShowsTheErrorAndChangesNothing(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 0)
	alice := e.subUser(r, subgate.SubUserCreate{Username: "alice"})
	bob := e.subUser(r, subgate.SubUserCreate{Username: "bob"})
	if _, err := e.svc.SetStatus(context.Background(), subgate.Principal{Admin: true}, bob.Hash, subgate.StatusBlocked); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	action, csrf := bulkForm(t, b.get("/dashboard/subusers?search=a"))

	for _, tc := range []struct {
		name  string
		form  url.Values
		error string // a part of it
		field string // the input highlighted
	}{
		{"nothing selected", url.Values{"action": {"disable"}}, "no sub-user selected", ""},
		{"nothing selected, a note", url.Values{"action": {"note"}, "note": {"x"}}, "no sub-user selected", ""},
		{"no action chosen", url.Values{"action": {""}, "note": {"typed, then Enter"}, "id": ids(alice)}, "action must be chosen", ""},
		{"an unknown action", url.Values{"action": {"delete"}, "id": ids(alice)}, "action must be disable", ""},
		{"a bad expiry", url.Values{"action": {"expiry"}, "expires_at": {"soon"}, "id": ids(alice)}, "expires_at must be", "expires_at"},
		{"a blocked one", url.Values{"action": {"disable"}, "id": ids(alice, bob)}, "(bob): status cannot be changed: the operator blocked", ""},
		{"an empty ref", url.Values{"action": {"disable"}, "id": {strconv.FormatInt(alice.ID, 10), ""}}, "empty reference", ""},
	} {
		tc.form.Set("csrf", csrf)
		a := b.post(action, tc.form)
		if a.status != http.StatusBadRequest || !strings.Contains(errorText(a.doc), tc.error) {
			t.Errorf("%s: %d %q, want 400 with %q", tc.name, a.status, errorText(a.doc), tc.error)
			continue
		}
		if find(a.doc, withAttr("tr", "data-username", "alice")) == nil {
			t.Errorf("%s: the list is not shown again", tc.name)
		}
		if tc.name == "no action chosen" {
			menu := find(a.doc, withAttr("select", "name", "action"))
			if attr(menu, "aria-invalid") != "true" || !strings.Contains(text(menu.Parent), "must be chosen") {
				t.Errorf("%s: the action menu is not marked with its error", tc.name)
			}
		}
		if chosen := tc.form.Get("action"); chosen == "expiry" || chosen == "disable" {
			if opt := find(a.doc, withAttr("option", "value", chosen)); !hasAttr(opt, "selected") {
				t.Errorf("%s: the chosen action %s is not chosen again", tc.name, chosen)
			}
		}
		if tc.field != "" {
			in := find(a.doc, withAttr("input", "name", tc.field))
			if attr(in, "aria-invalid") != "true" || attr(in, "value") != tc.form.Get(tc.field) {
				t.Errorf("%s: field %s not highlighted with what was typed", tc.name, tc.field)
			}
		}
	}
	if st := statuses(t, e, r, alice, bob); st["alice"] != subgate.StatusActive || st["bob"] != subgate.StatusBlocked {
		t.Errorf("refused forms changed %v", st)
	}
	if got, err := e.svc.SubUser(context.Background(), subgate.Principal{ResellerID: r.ID}, alice.Hash); err != nil || got.ExpiresAt != nil || got.Note != "" {
		t.Errorf("refused forms changed alice: %+v, %v", got, err)
	}
}
