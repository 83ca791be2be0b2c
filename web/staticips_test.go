package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/subgate/subgate"
)

// stockStaticIPs adds inventory entries of a country, 198.51.100.<first>
// onwards.
func (e *env) stockStaticIPs(country string, first, n int) []*subgate.StaticIP {
	e.t.Helper()
	ips := make([]*subgate.StaticIP, n)
	for i := range ips {
		ips[i] = &subgate.StaticIP{Address: fmt.Sprintf("198.51.100.%d", first+i), Country: country, AccessPoint: "ap1"}
	}
	if err := e.svc.AddStaticIPs(context.Background(), subgate.Principal{Admin: true}, ips); err != nil {
		e.t.Fatal(err)
	}
	return ips
}

// creditStatic puts static bandwidth in a reseller's pool.
func (e *env) creditStatic(r *subgate.Reseller, b int64) {
	e.t.Helper()
	if _, err := e.svc.CreditPool(context.Background(), subgate.Principal{Admin: true}, r.ID, subgate.ProductStatic, b, ""); err != nil {
		e.t.Fatal(err)
	}
}

// apiStaticIPs reads a sub-user's static IP addresses through the native API.
func (e *env) apiStaticIPs(r *subgate.Reseller, u *subgate.SubUser) []string {
	e.t.Helper()
	tok, _, err := e.svc.IssueToken(context.Background(), subgate.Principal{Admin: true}, r.ID, subgate.TokenAPI)
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/subusers/"+strconv.FormatInt(u.ID, 10)+"/static-ips", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Items []struct{ Address string } }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		e.t.Fatalf("API static IPs: %d, %v", resp.StatusCode, err)
	}
	out := []string{}
	for _, ip := range got.Items {
		out = append(out, ip.Address)
	}
	return out
}

// listedStaticIPs is what the sub-user's page lists.
func listedStaticIPs(a answer) []string {
	out := []string{}
	table := byID(a.doc, "static-ips")
	if table == nil {
		return out
	}
	for _, code := range findAll(table, tagged("code")) {
		out = append(out, text(code))
	}
	return out
}

func TestAllocateAndReleaseStaticIPs(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 0)
	e.creditStatic(r, 10*subgate.BytesPerGB)
	stock := e.stockStaticIPs("us", 1, 3)
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice"})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	path := "/dashboard/subusers/" + strconv.FormatInt(u.ID, 10)

	page := b.get(path)
	if got := listedStaticIPs(page); len(got) != 0 || !strings.Contains(page.body, "No dedicated static IPs.") {
		t.Fatalf("a fresh sub-user lists static IPs %v", got)
	}
	form := url.Values{"csrf": {b.csrf()}, "form": {"static-ips"}, "key": {inputValue(byID(page.doc, "static-ips-form"), "key")},
		"ips": {"2"}, "country_code": {"US"}, "access_point": {"ap1"}, "bandwidth": {"1.5"}}
	a := b.post(path+"/static-ips", form)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != path+"?done=allocated" {
		t.Fatalf("allocate: %d to %q: %s", a.status, a.header.Get("Location"), errorText(a.doc))
	}
	// The same form sent again allocates and gives nothing more.
	if again := b.post(path+"/static-ips", form); again.status != http.StatusSeeOther {
		t.Fatalf("allocate again: %d: %s", again.status, errorText(again.doc))
	}
	want := []string{stock[0].Address, stock[1].Address}
	page = b.get(path + "?done=allocated")
	if got := listedStaticIPs(page); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("page lists %v, want %v", got, want)
	}
	if got := e.apiStaticIPs(r, u); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("API lists %v, want %v", got, want)
	}
	if l := audit(t, e, r.ID)[subgate.ProductStatic]; l.Available != 1_500_000_000 || l.Pool != 10*subgate.BytesPerGB-1_500_000_000 {
		t.Errorf("static books after allocating: %+v", l)
	}

	release := find(byID(page.doc, "static-ips"), withAttr("tr", "data-ip", strconv.FormatInt(stock[0].ID, 10)))
	action := attr(find(release, tagged("form")), "action")
	if action != path+"/static-ips/"+strconv.FormatInt(stock[0].ID, 10)+"/release" {
		t.Fatalf("release form posts to %q", action)
	}
	a = b.post(action, url.Values{"csrf": {b.csrf()}, "form": {"release"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != path+"?done=released" {
		t.Fatalf("release: %d to %q: %s", a.status, a.header.Get("Location"), errorText(a.doc))
	}
	if got := e.apiStaticIPs(r, u); fmt.Sprint(got) != fmt.Sprint([]string{stock[1].Address}) {
		t.Errorf("API lists %v after a release", got)
	}
	// Released already: no longer this sub-user's.
	if a := b.post(action, url.Values{"csrf": {b.csrf()}}); a.status != http.StatusNotFound {
		t.Errorf("releasing a released IP: %d, want 404", a.status)
	}
}

func TestStaticIPErrorsAreShownAndChangeNothing(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 0)
	e.creditStatic(r, 2*subgate.BytesPerGB)
	e.stockStaticIPs("us", 1, 2)
	e.stockStaticIPs("de", 10, 1)
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice"})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	path := "/dashboard/subusers/" + strconv.FormatInt(u.ID, 10)
	before := audit(t, e, r.ID)

	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		field  string
		msg    string
	}{
		{"inventory short", url.Values{"ips": {"3"}, "country_code": {"us"}}, http.StatusUnprocessableEntity, "", "only 2 free static IPs"},
		{"pool short", url.Values{"ips": {"1"}, "country_code": {"de"}, "bandwidth": {"2.5"}}, http.StatusUnprocessableEntity, "", ""},
		{"bad country", url.Values{"ips": {"1"}, "country_code": {"usa"}}, http.StatusBadRequest, "country_code", "country_code must be"},
		{"no count", url.Values{"ips": {"0"}, "country_code": {"us"}}, http.StatusBadRequest, "ips", "ips must be between"},
		{"bad bandwidth", url.Values{"ips": {"1"}, "country_code": {"us"}, "bandwidth": {"lots"}}, http.StatusBadRequest, "bandwidth", "bandwidth must be"},
	} {
		tc.form.Set("csrf", b.csrf())
		tc.form.Set("form", "static-ips")
		tc.form.Set("key", "try-"+tc.name)
		a := b.post(path+"/static-ips", tc.form)
		shown := text(find(byID(a.doc, "static-ips-form"), withClass("p", "form-error")))
		if a.status != tc.status || shown == "" || !strings.Contains(shown, tc.msg) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, a.status, shown, tc.status, tc.msg)
			continue
		}
		if v := inputValue(byID(a.doc, "static-ips-form"), "country_code"); v != tc.form.Get("country_code") {
			t.Errorf("%s: typed country not kept: %q", tc.name, v)
		}
		if tc.field != "" {
			if in := find(a.doc, withAttr("input", "name", tc.field)); attr(in, "aria-invalid") != "true" {
				t.Errorf("%s: field %s not highlighted", tc.name, tc.field)
			}
		}
	}
	if got := e.apiStaticIPs(r, u); len(got) != 0 {
		t.Errorf("refused allocations left IPs %v", got)
	}
	if after := audit(t, e, r.ID); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("books changed:\n%v\n%v", before, after)
	}
}

func TestStaticIPPostsNeedTheCSRFToken(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 0)
	e.creditStatic(r, 2*subgate.BytesPerGB)
	stock := e.stockStaticIPs("us", 1, 2)
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice"})
	ref := strconv.FormatInt(u.ID, 10)
	if _, _, err := e.svc.AllocateStaticIPs(context.Background(), subgate.Principal{ResellerID: r.ID}, ref,
		subgate.StaticIPAllocation{Country: "us", Count: 1}, 0, ""); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	path := "/dashboard/subusers/" + ref
	for _, csrf := range []string{"", "not-the-token"} {
		for target, form := range map[string]url.Values{
			path + "/static-ips": {"ips": {"1"}, "country_code": {"us"}, "bandwidth": {"1"}},
			path + "/static-ips/" + strconv.FormatInt(stock[0].ID, 10) + "/release": {},
		} {
			if csrf != "" {
				form.Set("csrf", csrf)
			}
			if a := b.post(target, form); a.status != http.StatusForbidden {
				t.Errorf("%q token on %s: %d, want 403", csrf, target, a.status)
			}
		}
	}
	if got := e.apiStaticIPs(r, u); fmt.Sprint(got) != fmt.Sprint([]string{stock[0].Address}) {
		t.Errorf("refused posts changed the IPs: %v", got)
	}
	if l := audit(t, e, r.ID)[subgate.ProductStatic]; l.Pool != 2*subgate.BytesPerGB {
		t.Errorf("refused posts moved static bandwidth: %+v", l)
	}
}

func TestAnotherResellersStaticIPsAreNotFound(t *testing.T) {
	e := newEnv(t)
	mine := e.reseller("Acme", "ops@acme.test", "right-password", 0)
	e.creditStatic(mine, 2*subgate.BytesPerGB)
	rival := e.reseller("Rival", "ops@rival.test", "rival-password", 0)
	e.creditStatic(rival, 2*subgate.BytesPerGB)
	stock := e.stockStaticIPs("us", 1, 3)
	alice := e.subUser(mine, subgate.SubUserCreate{Username: "alice"})
	theirs := e.subUser(rival, subgate.SubUserCreate{Username: "theirs"})
	if _, _, err := e.svc.AllocateStaticIPs(context.Background(), subgate.Principal{ResellerID: rival.ID}, theirs.Hash,
		subgate.StaticIPAllocation{Country: "us", Count: 1}, 0, ""); err != nil {
		t.Fatal(err)
	}
	theirIP := strconv.FormatInt(stock[0].ID, 10)
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	csrf := b.csrf()

	for _, ref := range []string{strconv.FormatInt(theirs.ID, 10), theirs.Hash} {
		if a := b.get("/dashboard/subusers/" + ref); a.status != http.StatusNotFound || strings.Contains(a.body, stock[0].Address) {
			t.Errorf("GET rival's sub-user %s: %d", ref, a.status)
		}
		for target, form := range map[string]url.Values{
			"/static-ips":                         {"ips": {"1"}, "country_code": {"us"}, "bandwidth": {"1"}},
			"/static-ips/" + theirIP + "/release": {},
		} {
			form.Set("csrf", csrf)
			if a := b.post("/dashboard/subusers/"+ref+target, form); a.status != http.StatusNotFound {
				t.Errorf("POST %s on rival's sub-user %s: %d, want 404", target, ref, a.status)
			}
		}
	}
	// Their IP named through my own sub-user is not mine to release either.
	a := b.post("/dashboard/subusers/"+strconv.FormatInt(alice.ID, 10)+"/static-ips/"+theirIP+"/release", url.Values{"csrf": {csrf}})
	if a.status != http.StatusNotFound {
		t.Errorf("releasing rival's IP through my sub-user: %d, want 404", a.status)
	}
	if got := e.apiStaticIPs(rival, theirs); fmt.Sprint(got) != fmt.Sprint([]string{stock[0].Address}) {
		t.Errorf("rival's static IPs changed: %v", got)
	}
	if got := e.apiStaticIPs(mine, alice); len(got) != 0 {
		t.Errorf("my sub-user got IPs: %v", got)
	}
	if l := audit(t, e, rival.ID)[subgate.ProductStatic]; l.Pool != 2*subgate.BytesPerGB || l.Available != 0 {
		t.Errorf("rival's static books changed: %+v", l)
	}
}
