package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"golang.org/x/net/html"

	"github.com/subgate/subgate"
)

// ledgerIDs are the entry ids a ledger page lists, in order.
func ledgerIDs(a answer) []int64 {
	var out []int64
	for _, tr := range findAll(a.doc, withAttr("table", "id", "ledger")) {
		for _, row := range findAll(tr, tagged("tr")) {
			if id := attr(row, "data-entry"); id != "" {
				n, _ := strconv.ParseInt(id, 10, 64)
				out = append(out, n)
			}
		}
	}
	return out
}

// entryIDs lists the reseller's entries through the service, newest first.
func entryIDs(t *testing.T, e *env, r *subgate.Reseller, keep func(*subgate.LedgerEntry) bool) []int64 {
	t.Helper()
	entries, err := e.svc.Ledger(context.Background(), subgate.Principal{ResellerID: r.ID}, subgate.LedgerFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, en := range entries {
		if keep == nil || keep(en) {
			out = append(out, en.ID)
		}
	}
	return out
}

func TestLedgerShowsOnlyTheResellersEntries(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	rival := e.reseller("Rival", "ops@rival.test", "rival-password", 10*subgate.BytesPerGB)
	e.subUser(rival, subgate.SubUserCreate{Username: "theirs", Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}})
	alice := e.subUser(r, subgate.SubUserCreate{Username: "alice", Traffic: map[subgate.Product]int64{"res": 1_500_000_000}})
	b := e.browser()
	b.login("ops@acme.test", "right-password")

	overview := b.get("/dashboard/")
	if href := attr(byID(overview.doc, "ledger-link"), "href"); href != "/dashboard/ledger" {
		t.Fatalf("overview links the ledger at %q", href)
	}
	a := b.get("/dashboard/ledger")
	want := entryIDs(t, e, r, nil)
	if a.status != http.StatusOK || len(want) != 2 || fmt.Sprint(ledgerIDs(a)) != fmt.Sprint(want) {
		t.Fatalf("ledger page: %d lists %v, want %v", a.status, ledgerIDs(a), want)
	}
	for _, id := range entryIDs(t, e, rival, nil) {
		if find(a.doc, withAttr("tr", "data-entry", strconv.FormatInt(id, 10))) != nil {
			t.Errorf("rival's entry %d is listed", id)
		}
	}
	// The give to alice: her name links to her, the amount is GB with bytes on hover.
	give := find(a.doc, withAttr("tr", "data-entry", strconv.FormatInt(want[0], 10)))
	cells := findAll(give, tagged("td"))
	if link := find(cells[3], tagged("a")); text(link) != "alice" || attr(link, "href") != "/dashboard/subusers/"+strconv.FormatInt(alice.ID, 10) {
		t.Errorf("sub-user cell %q links %q", text(cells[3]), attr(link, "href"))
	}
	if text(cells[4]) != "1.50 GB" || attr(cells[4], "title") != "1,500,000,000 bytes" {
		t.Errorf("amount cell %q (%q)", text(cells[4]), attr(cells[4], "title"))
	}
	// Filtering by the rival's sub-user shows nothing of theirs.
	if a := b.get("/dashboard/ledger?subuser=theirs"); a.status != http.StatusBadRequest || len(ledgerIDs(a)) != 0 {
		t.Errorf("filter by rival's sub-user: %d lists %v", a.status, ledgerIDs(a))
	}
}

func TestLedgerFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 100*subgate.BytesPerGB)
	if _, err := e.svc.CreditPool(context.Background(), subgate.Principal{Admin: true}, r.ID, subgate.ProductDatacenter, 100*subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}
	alice := e.subUser(r, subgate.SubUserCreate{Username: "alice"})
	bob := e.subUser(r, subgate.SubUserCreate{Username: "bob"})
	ctx, p := context.Background(), subgate.Principal{ResellerID: r.ID}
	for i := range 30 {
		for _, g := range []struct {
			u       *subgate.SubUser
			product subgate.Product
		}{{alice, subgate.ProductResidential}, {bob, subgate.ProductDatacenter}} {
			if _, err := e.svc.Give(ctx, p, g.u.Hash, g.product, int64(i+1)*1000, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := e.browser()
	b.login("ops@acme.test", "right-password")

	// walk follows the Older links from a first page and returns every id.
	walk := func(first string) []int64 {
		t.Helper()
		var ids []int64
		next := first
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatalf("more than 10 pages from %s", first)
			}
			a := b.get(next)
			if a.status != http.StatusOK {
				t.Fatalf("%s: %d %s", next, a.status, errorText(a.doc))
			}
			got := ledgerIDs(a)
			if len(got) > 25 {
				t.Fatalf("%s: %d rows on one page", next, len(got))
			}
			ids = append(ids, got...)
			next = attr(find(a.doc, withAttr("a", "rel", "next")), "href")
		}
		return ids
	}
	byProduct := func(pr subgate.Product) func(*subgate.LedgerEntry) bool {
		return func(en *subgate.LedgerEntry) bool { return en.Product == pr }
	}
	for name, tc := range map[string]struct {
		url  string
		keep func(*subgate.LedgerEntry) bool
	}{
		"all":                {"/dashboard/ledger", nil},
		"datacenter":         {"/dashboard/ledger?product=dc", byProduct(subgate.ProductDatacenter)},
		"alice by name":      {"/dashboard/ledger?subuser=alice", func(en *subgate.LedgerEntry) bool { return en.SubUserID == alice.ID }},
		"bob by id":          {"/dashboard/ledger?subuser=" + strconv.FormatInt(bob.ID, 10), func(en *subgate.LedgerEntry) bool { return en.SubUserID == bob.ID }},
		"pool credits":       {"/dashboard/ledger?kind=credit", func(en *subgate.LedgerEntry) bool { return en.Kind == subgate.LedgerCredit }},
		"alice's datacenter": {"/dashboard/ledger?subuser=alice&product=dc", func(*subgate.LedgerEntry) bool { return false }},
		"residential credits": {"/dashboard/ledger?product=res&kind=credit", func(en *subgate.LedgerEntry) bool {
			return en.Kind == subgate.LedgerCredit && en.Product == subgate.ProductResidential
		}},
	} {
		want := entryIDs(t, e, r, tc.keep)
		if got := walk(tc.url); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: pages list %v\nwant %v", name, got, want)
		}
	}
	if n := len(entryIDs(t, e, r, nil)); n != 62 {
		t.Fatalf("%d entries, the paging above wanted more than one page", n)
	}

	// A bad filter is shown at its input.
	for q, field := range map[string]string{"subuser=nobody": "subuser", "product=gold": "product", "kind=gift": "kind"} {
		a := b.get("/dashboard/ledger?" + q)
		if a.status != http.StatusBadRequest || errorText(a.doc) == "" || len(ledgerIDs(a)) != 0 {
			t.Errorf("%s: %d %q", q, a.status, errorText(a.doc))
		}
		if field == "subuser" {
			if in := find(a.doc, withAttr("input", "name", "subuser")); attr(in, "aria-invalid") != "true" || attr(in, "value") != "nobody" {
				t.Errorf("%s: sub-user input not marked or emptied", q)
			}
		}
	}
	// A sub-user's page links to its movements.
	if href := attr(find(b.get("/dashboard/subusers/"+strconv.FormatInt(alice.ID, 10)).doc, func(n *html.Node) bool {
		return n.Data == "a" && text(n) == "All movements"
	}), "href"); href != "/dashboard/ledger?subuser="+strconv.FormatInt(alice.ID, 10) {
		t.Errorf("sub-user page links movements at %q", href)
	}
}
