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

	"golang.org/x/net/html"

	"github.com/subgate/subgate"
)

func TestCSRFMissingOrWrongIsRefusedAndChangesNothing(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice", Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	other := e.browser()
	other.login("ops@acme.test", "right-password")
	otherCSRF := other.csrf()

	ref := "/dashboard/subusers/" + strconv.FormatInt(u.ID, 10)
	bulk := "/dashboard/subusers/bulk?sort=username"
	for name, csrf := range map[string][]string{
		"missing": nil, "wrong": {"not-the-token"}, "another session's": {otherCSRF},
	} {
		for path, form := range map[string]url.Values{
			"/dashboard/subusers": {"username": {"mallory"}, "traffic.res": {"1"}},
			ref + "/traffic":      {"product": {"res"}, "amount": {"1"}, "direction": {"give"}},
			ref + "/status":       {"status": {"disabled"}},
			ref + "/password":     {"password": {"hijacked1"}},
			ref + "/delete":       {"confirm": {"alice"}},
			"/dashboard/logout":   {},
			bulk:                  {"action": {"disable"}, "id": {strconv.FormatInt(u.ID, 10)}},
		} {
			if csrf != nil {
				form.Set("csrf", csrf[0])
			}
			if a := b.post(path, form); a.status != http.StatusForbidden {
				t.Errorf("%s token on %s: %d, want 403", name, path, a.status)
			}
		}
	}
	got, err := e.svc.SubUser(context.Background(), subgate.Principal{ResellerID: r.ID}, strconv.FormatInt(u.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != subgate.StatusActive || got.Password != u.Password || got.Traffic["res"].Available != subgate.BytesPerGB {
		t.Errorf("sub-user changed by refused posts: %+v", got)
	}
	page, err := e.svc.SubUsers(context.Background(), subgate.Principal{ResellerID: r.ID}, subgate.SubUserFilter{WithTotal: true})
	if err != nil || page.Total != 1 {
		t.Errorf("sub-users after refused posts: %v, %v", page.Total, err)
	}
	if a := b.get("/dashboard/"); a.status != http.StatusOK {
		t.Errorf("a refused logout ended the session: %d", a.status)
	}
}

func TestAnotherResellersSubUserIsNotFound(t *testing.T) {
	e := newEnv(t)
	e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	rival := e.reseller("Rival", "ops@rival.test", "rival-password", 10*subgate.BytesPerGB)
	theirs := e.subUser(rival, subgate.SubUserCreate{Username: "theirs", Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	csrf := b.csrf()

	for _, ref := range []string{strconv.FormatInt(theirs.ID, 10), theirs.Hash} {
		if a := b.get("/dashboard/subusers/" + ref); a.status != http.StatusNotFound || strings.Contains(a.body, theirs.Password) {
			t.Errorf("GET rival's sub-user %s: %d", ref, a.status)
		}
		for action, form := range map[string]url.Values{
			"traffic":  {"product": {"res"}, "amount": {"1"}, "direction": {"take"}},
			"status":   {"status": {"disabled"}},
			"password": {"password": {"hijacked1"}},
			"settings": {"name": {"mine now"}},
			"delete":   {"confirm": {"theirs"}},
		} {
			form.Set("csrf", csrf)
			if a := b.post("/dashboard/subusers/"+ref+"/"+action, form); a.status != http.StatusNotFound {
				t.Errorf("POST %s on rival's sub-user %s: %d, want 404", action, ref, a.status)
			}
		}
	}
	got, err := e.svc.SubUser(context.Background(), subgate.Principal{ResellerID: rival.ID}, theirs.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != subgate.StatusActive || got.Password != theirs.Password || got.Name != "" ||
		got.Traffic["res"].Available != subgate.BytesPerGB {
		t.Errorf("rival's sub-user changed: %+v", got)
	}
	if a := b.get("/dashboard/subusers?search=theirs"); len(findAll(a.doc, withAttr("tr", "data-username", "theirs"))) != 0 {
		t.Error("rival's sub-user is listed")
	}
}

func TestCreateSubUserShowsInTheNativeAPI(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	newPage := b.get("/dashboard/subusers/new")
	form := url.Values{
		"csrf": {inputValue(newPage.doc, "csrf")}, "key": {inputValue(newPage.doc, "key")},
		"username": {"alice"}, "name": {"Alice"}, "traffic.res": {"2.5"}, "limits.daily": {"0.75"},
		"limits.max_concurrency": {"5"}, "expires_at": {"2030-01-31T12:00"},
	}
	a := b.post("/dashboard/subusers", form)
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/subusers/") || !strings.HasSuffix(loc, "?done=created") {
		t.Fatalf("create: %d to %q\n%s", a.status, loc, errorText(a.doc))
	}
	detail := b.get(loc)
	if detail.status != http.StatusOK || text(find(detail.doc, withClass("p", "notice"))) != "Sub-user created." {
		t.Fatalf("detail after create: %d, notice %q", detail.status, text(find(detail.doc, withClass("p", "notice"))))
	}
	// A double submit of the same form creates nothing more.
	if again := b.post("/dashboard/subusers", form); again.status != http.StatusSeeOther || again.header.Get("Location") != loc {
		t.Errorf("resubmitted form: %d to %q, want the same sub-user", again.status, again.header.Get("Location"))
	}

	tok, _, err := e.svc.IssueToken(context.Background(), subgate.Principal{Admin: true}, r.ID, subgate.TokenAPI)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/dashboard/subusers/"), "?done=created")
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/subusers/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Username string
		Name     string
		Password string
		Traffic  map[string]struct{ Available int64 }
		Limits   struct {
			Daily          int64
			MaxConcurrency int64 `json:"max_concurrency"`
		}
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("API: %d, %v", resp.StatusCode, err)
	}
	if got.Username != "alice" || got.Name != "Alice" || got.Traffic["res"].Available != 2_500_000_000 ||
		got.Limits.Daily != 750_000_000 || got.Limits.MaxConcurrency != 5 || got.ExpiresAt != "2030-01-31T12:00:00Z" {
		t.Errorf("API sees %+v", got)
	}
	// The generated proxy password and a ready curl line are on the page.
	if pw := text(byID(detail.doc, "cred-pass")); pw != got.Password || len(pw) < 8 {
		t.Errorf("page shows password %q, API %q", pw, got.Password)
	}
	host := strings.TrimPrefix(e.srv.URL, "http://")
	host = host[:strings.LastIndex(host, ":")]
	wantCurl := fmt.Sprintf("curl -x 'http://alice:%s@%s:3128' https://example.com/", got.Password, host)
	if c := text(byID(detail.doc, "cred-curl")); c != wantCurl {
		t.Errorf("curl line %q, want %q", c, wantCurl)
	}
	if cell := find(detail.doc, func(n *html.Node) bool { return n.Data == "td" && attr(n, "title") == "2,500,000,000 bytes" }); text(cell) != "2.50 GB" {
		t.Errorf("available cell: %q", text(cell))
	}
}

func TestBadFormIsShownAgainAndChangesNothing(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	e.subUser(r, subgate.SubUserCreate{Username: "taken"})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	csrf := b.csrf()
	before := audit(t, e, r.ID)

	for _, tc := range []struct {
		form   url.Values
		field  string
		status int
	}{
		{url.Values{"username": {"a-b"}}, "username", http.StatusBadRequest},
		{url.Values{"username": {"bob"}, "traffic.res": {"lots"}}, "traffic.res", http.StatusBadRequest},
		{url.Values{"username": {"bob"}, "limits.daily": {"-1"}}, "limits.daily", http.StatusBadRequest},
		{url.Values{"username": {"bob"}, "expires_at": {"soon"}}, "expires_at", http.StatusBadRequest},
		{url.Values{"username": {"bob"}, "traffic.res": {"11"}}, "", http.StatusUnprocessableEntity},
		{url.Values{"username": {"TAKEN"}}, "", http.StatusConflict},
	} {
		tc.form.Set("csrf", csrf)
		tc.form.Set("name", "Bob <the builder>")
		a := b.post("/dashboard/subusers", tc.form)
		if a.status != tc.status || errorText(a.doc) == "" {
			t.Errorf("%v: %d %q, want %d with an error", tc.form, a.status, errorText(a.doc), tc.status)
			continue
		}
		if inputValue(a.doc, "name") != "Bob <the builder>" {
			t.Errorf("%v: typed name not kept: %q", tc.form, inputValue(a.doc, "name"))
		}
		if tc.field != "" {
			in := find(a.doc, withAttr("input", "name", tc.field))
			if attr(in, "aria-invalid") != "true" || !strings.Contains(attr(in.Parent, "class"), "invalid") {
				t.Errorf("%v: field %s not highlighted", tc.form, tc.field)
			}
		}
	}
	page, err := e.svc.SubUsers(context.Background(), subgate.Principal{ResellerID: r.ID}, subgate.SubUserFilter{WithTotal: true})
	if err != nil || page.Total != 1 {
		t.Errorf("sub-users after bad forms: %d, %v", page.Total, err)
	}
	if after := audit(t, e, r.ID); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("books changed:\n%v\n%v", before, after)
	}
}

func TestGivingMoreThanThePoolShowsTheErrorAndKeepsTheBooks(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice", Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	path := "/dashboard/subusers/" + strconv.FormatInt(u.ID, 10)
	before := audit(t, e, r.ID)

	a := b.post(path+"/traffic", url.Values{"csrf": {b.csrf()}, "product": {"res"}, "amount": {"9.5"}, "direction": {"give"}})
	if a.status != http.StatusUnprocessableEntity || errorText(a.doc) == "" {
		t.Fatalf("give beyond the pool: %d, error %q", a.status, errorText(a.doc))
	}
	if v := attr(find(a.doc, withAttr("input", "name", "amount")), "value"); v != "9.5" {
		t.Errorf("amount not kept: %q", v)
	}
	if after := audit(t, e, r.ID); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("books changed by a refused give:\n%v\n%v", before, after)
	}

	// 0.5 GB is exactly 500,000,000 bytes, both ways.
	for i, step := range []struct{ direction, done string }{{"give", "given"}, {"take", "taken"}, {"give", "given"}} {
		a = b.post(path+"/traffic", url.Values{"csrf": {b.csrf()}, "product": {"res"}, "amount": {"0.5"}, "direction": {step.direction}, "key": {"step-" + strconv.Itoa(i)}})
		if a.status != http.StatusSeeOther || a.header.Get("Location") != path+"?done="+step.done {
			t.Fatalf("%s: %d to %q: %s", step.direction, a.status, a.header.Get("Location"), errorText(a.doc))
		}
	}
	got, err := e.svc.SubUser(context.Background(), subgate.Principal{ResellerID: r.ID}, u.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Traffic["res"].Available != subgate.BytesPerGB+500_000_000 {
		t.Errorf("available %d, want 1.5 GB", got.Traffic["res"].Available)
	}
	if l := audit(t, e, r.ID)["res"]; l.Pool != 10*subgate.BytesPerGB-subgate.BytesPerGB-500_000_000 {
		t.Errorf("pool %d", l.Pool)
	}
	// The same form sent twice (its key) moves the traffic once.
	form := url.Values{"csrf": {b.csrf()}, "product": {"res"}, "amount": {"1"}, "direction": {"give"}, "key": {"once"}}
	for range 2 {
		if a := b.post(path+"/traffic", form); a.status != http.StatusSeeOther {
			t.Fatalf("give with key: %d: %s", a.status, errorText(a.doc))
		}
	}
	if l := audit(t, e, r.ID)["res"]; l.Pool != 10*subgate.BytesPerGB-2*subgate.BytesPerGB-500_000_000 {
		t.Errorf("pool after a repeated form %d", l.Pool)
	}
	// The page lists the movements, newest first: give 1, give 0.5, take 0.5, give 0.5, give 1 (creation).
	var moves []string
	for _, tr := range findAll(find(b.get(path).doc, withAttr("table", "id", "ledger")), tagged("tr"))[1:] {
		cells := findAll(tr, tagged("td"))
		moves = append(moves, text(cells[1])+" "+attr(cells[3], "title"))
	}
	want := []string{"given from the pool 1,000,000,000 bytes", "given from the pool 500,000,000 bytes",
		"taken back to the pool 500,000,000 bytes", "given from the pool 500,000,000 bytes", "given from the pool 1,000,000,000 bytes"}
	if fmt.Sprint(moves) != fmt.Sprint(want) {
		t.Errorf("movements %q\nwant %q", moves, want)
	}
}

func TestUserTextIsEscaped(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme <script>alert(1)</script>", "ops@acme.test", "right-password", 0)
	note := `<script>alert("note")</script><img src=x onerror=alert(2)>`
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice", Name: `<b>Alice</b>`, Note: note})
	b := e.browser()
	b.login("ops@acme.test", "right-password")

	for _, path := range []string{"/dashboard/subusers/" + strconv.FormatInt(u.ID, 10), "/dashboard/subusers", "/dashboard/"} {
		a := b.get(path)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d", path, a.status)
		}
		for _, s := range findAll(a.doc, tagged("script")) {
			if attr(s, "src") != "/dashboard/static/app.js" || text(s) != "" {
				t.Errorf("%s: a script element came from user text: %q", path, text(s))
			}
		}
		if imgs := findAll(a.doc, tagged("img")); len(imgs) != 0 {
			t.Errorf("%s: user text made an <img>", path)
		}
		if bs := findAll(a.doc, tagged("b")); len(bs) != 0 {
			t.Errorf("%s: user text made a <b>", path)
		}
		if who := text(find(a.doc, withClass("span", "who"))); who != r.Name {
			t.Errorf("%s: reseller name shown as %q", path, who)
		}
	}
	detail := b.get("/dashboard/subusers/" + strconv.FormatInt(u.ID, 10))
	if got := text(find(detail.doc, withClass("p", "note"))); got != note {
		t.Errorf("note shown as %q, want the text %q", got, note)
	}
	if got := text(find(detail.doc, withAttr("textarea", "name", "note"))); got != note {
		t.Errorf("note form holds %q", got)
	}
}

func TestSubUserActions(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice", Traffic: map[subgate.Product]int64{"res": 2 * subgate.BytesPerGB}})
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	path := "/dashboard/subusers/" + strconv.FormatInt(u.ID, 10)
	ctx, p := context.Background(), subgate.Principal{ResellerID: r.ID}
	post := func(action string, form url.Values, done string) {
		t.Helper()
		form.Set("csrf", b.csrf())
		a := b.post(path+"/"+action, form)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != path+"?done="+done {
			t.Fatalf("%s: %d to %q: %s", action, a.status, a.header.Get("Location"), errorText(a.doc))
		}
	}
	current := func() *subgate.SubUser {
		t.Helper()
		got, err := e.svc.SubUser(ctx, p, u.Hash)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	post("status", url.Values{"status": {"disabled"}}, "disabled")
	if current().Status != subgate.StatusDisabled {
		t.Error("not disabled")
	}
	if badge := find(b.get(path).doc, withClass("span", "status-disabled")); badge == nil {
		t.Error("no disabled badge")
	}
	post("status", url.Values{"status": {"active"}}, "enabled")
	post("password", url.Values{"password": {"NewPassw0rd"}}, "password")
	if current().Password != "NewPassw0rd" {
		t.Error("password not set")
	}
	post("password", url.Values{}, "password")
	if pw := current().Password; pw == "NewPassw0rd" || subgate.ValidateProxyPassword("password", pw) != nil {
		t.Errorf("generated password %q", pw)
	}
	post("settings", url.Values{"name": {"Alice"}, "note": {"vip"}, "limits.monthly": {"3"}, "limits.ip_usage_cap": {"4"}}, "settings")
	got := current()
	if got.Name != "Alice" || got.Note != "vip" || got.Limits.Monthly != 3*subgate.BytesPerGB || got.Limits.IPUsageCap != 4 || got.ExpiresAt != nil {
		t.Errorf("settings: %+v", got)
	}

	a := b.post(path+"/delete", url.Values{"csrf": {b.csrf()}, "confirm": {"alic"}})
	if a.status != http.StatusBadRequest || attr(find(a.doc, withAttr("input", "name", "confirm")), "aria-invalid") != "true" {
		t.Fatalf("delete with a wrong confirmation: %d", a.status)
	}
	a = b.post(path+"/delete", url.Values{"csrf": {b.csrf()}, "confirm": {"alice"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard/subusers?done=deleted" {
		t.Fatalf("delete: %d to %q", a.status, a.header.Get("Location"))
	}
	if b.get(path).status != http.StatusNotFound {
		t.Error("deleted sub-user still shown")
	}
	if l := audit(t, e, r.ID)["res"]; l.Pool != 10*subgate.BytesPerGB {
		t.Errorf("pool after delete %d, want the traffic back", l.Pool)
	}
}

func TestListSearchesFiltersSortsAndPages(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 100*subgate.BytesPerGB)
	for i := range 30 {
		c := subgate.SubUserCreate{Username: fmt.Sprintf("user%02d", i), Traffic: map[subgate.Product]int64{"res": int64(i+1) * subgate.BytesPerGB / 10}}
		if i%3 == 0 {
			c.Status = subgate.StatusDisabled
		}
		e.subUser(r, c)
	}
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	names := func(a answer) []string {
		var out []string
		for _, tr := range findAll(a.doc, func(n *html.Node) bool { return n.Data == "tr" && hasAttr(n, "data-username") }) {
			out = append(out, attr(tr, "data-username"))
		}
		return out
	}

	first := b.get("/dashboard/subusers")
	if n := names(first); len(n) != 25 || n[0] != "user00" {
		t.Fatalf("first page: %v", n)
	}
	next := attr(find(first.doc, withAttr("a", "rel", "next")), "href")
	if second := names(b.get(next)); len(second) != 5 || second[0] != "user25" {
		t.Errorf("second page (%s): %v", next, second)
	}
	if got := names(b.get("/dashboard/subusers?search=USER1")); len(got) != 10 {
		t.Errorf("search user1: %v", got)
	}
	if got := names(b.get("/dashboard/subusers?status=disabled")); len(got) != 10 || got[0] != "user00" || got[1] != "user03" {
		t.Errorf("disabled: %v", got)
	}
	if got := names(b.get("/dashboard/subusers?sort=available&order=desc")); got[0] != "user29" {
		t.Errorf("by available, descending: %v", got[:3])
	}
	if a := b.get("/dashboard/subusers?sort=nonsense"); a.status != http.StatusBadRequest {
		t.Errorf("bad sort: %d", a.status)
	}
}

// The list pages by cursor: a later page costs no more than the first, and
// no page counts a filter's matches exactly.
func TestListPagesByCursor(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 100*subgate.BytesPerGB)
	for i := range 30 {
		e.subUser(r, subgate.SubUserCreate{Username: fmt.Sprintf("user%02d", i), Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}})
	}
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	first := b.get("/dashboard/subusers?sort=username")
	if got := text(byID(first.doc, "total")); got != "(30)" {
		t.Errorf("total %q, want (30)", got)
	}
	if find(first.doc, withAttr("a", "rel", "first")) != nil {
		t.Error("the first page links to the first page")
	}
	next := attr(find(first.doc, withAttr("a", "rel", "next")), "href")
	u, err := url.Parse(next)
	if err != nil || u.Query().Get("after") == "" || u.Query().Get("page") != "" || u.Query().Get("sort") != "username" {
		t.Fatalf("next page link %q: want a cursor in the same order", next)
	}
	second := b.get(next)
	if find(second.doc, withAttr("a", "rel", "next")) != nil {
		t.Error("the last page links a next one")
	}
	if href := attr(find(second.doc, withAttr("a", "rel", "first")), "href"); href != "/dashboard/subusers?sort=username" {
		t.Errorf("first page link %q", href)
	}
}
