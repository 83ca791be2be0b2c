package api_test

import (
	"strings"
	"testing"
)

type staticIP struct {
	ID          int64
	Address     string
	Upstream    string
	Country     string
	AccessPoint string `json:"access_point"`
	SubUserID   int64  `json:"subuser_id"`
}

type staticIPList struct {
	Items     []staticIP
	NextAfter int64 `json:"next_after"`
}

const proxySecret = "Distinct-Static-Proxy-Secret"

// stockInventory adds three us/nyc addresses, one de address and a us/nyc
// static proxy (documentation addresses: nothing is ever dialled).
func (e *env) stockInventory() staticIPList {
	e.t.Helper()
	var l staticIPList
	e.call("POST", "/v1/static-ips", adminToken, map[string]any{"ips": []map[string]string{
		{"address": "203.0.113.1", "country": "us", "access_point": "nyc"},
		{"address": "203.0.113.2", "country": "US", "access_point": "NYC"},
		{"address": "203.0.113.3", "country": "us", "access_point": "nyc"},
		{"address": "2001:db8::1", "country": "de"},
		{"upstream": "socks5://proxy.example:1080:acct:" + proxySecret, "country": "us", "access_point": "nyc"},
	}}).expect(e.t, 201).into(e.t, &l)
	return l
}

func TestAdminStocksTheInventory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	added := e.stockInventory()
	if len(added.Items) != 5 || added.Items[1].Country != "us" || added.Items[1].AccessPoint != "nyc" || added.Items[0].ID == 0 {
		t.Fatalf("added %+v", added)
	}
	if up := added.Items[4].Upstream; up != "socks5://proxy.example:1080:acct:****" {
		t.Fatalf("the admin sees the proxy as %q", up)
	}
	list := e.call("GET", "/v1/static-ips", adminToken, nil).expect(t, 200)
	if strings.Contains(string(list.Body), proxySecret) || strings.Contains(string(added.Items[4].Upstream), proxySecret) {
		t.Fatal("the API shows a static proxy password")
	}
	var all staticIPList
	list.into(t, &all)
	if len(all.Items) != 5 || all.NextAfter != 0 {
		t.Fatalf("list %+v", all)
	}

	// Filters and paging.
	var page staticIPList
	e.call("GET", "/v1/static-ips?country=us&access_point=nyc&limit=2", adminToken, nil).expect(t, 200).into(t, &page)
	if len(page.Items) != 2 || page.NextAfter != page.Items[1].ID {
		t.Fatalf("first page %+v", page)
	}
	e.call("GET", "/v1/static-ips?country=us&access_point=nyc&limit=2&after="+itoa(page.NextAfter), adminToken, nil).expect(t, 200).into(t, &page)
	if len(page.Items) != 2 || page.Items[0].ID != all.Items[2].ID || page.Items[1].ID != all.Items[4].ID {
		t.Fatalf("second page %+v", page)
	}
	e.call("GET", "/v1/static-ips?country=de", adminToken, nil).expect(t, 200).into(t, &page)
	if len(page.Items) != 1 || page.Items[0].Address != "2001:db8::1" {
		t.Fatalf("de %+v", page)
	}

	// Bad input names the field and adds nothing.
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"ips": []any{}}, "ips"},
		{map[string]any{"ips": []map[string]string{{"address": "not-an-ip", "country": "us"}}}, "ips[0].address"},
		{map[string]any{"ips": []map[string]string{{"address": "203.0.113.9", "country": "usa"}}}, "ips[0].country"},
		{map[string]any{"ips": []map[string]string{{"address": "203.0.113.9", "upstream": "h:1:u:p", "country": "us"}}}, "ips[0]"},
		{map[string]any{"ips": []map[string]string{{"upstream": "h:1:user-only", "country": "us"}}}, "ips[0].upstream"},
		{map[string]any{"ips": []map[string]string{{"address": "203.0.113.9", "country": "us", "access_point": "new york"}}}, "ips[0].access_point"},
		{map[string]any{"ips": []map[string]any{{"address": "203.0.113.9", "country": "us", "subuser_id": 1}}}, "subuser_id"},
	} {
		e.call("POST", "/v1/static-ips", adminToken, c.body).expectErr(t, 400, "invalid", c.field)
	}
	e.call("GET", "/v1/static-ips?allocated=maybe", adminToken, nil).expectErr(t, 400, "invalid", "allocated")
	e.call("GET", "/v1/static-ips?limit=0", adminToken, nil).expectErr(t, 400, "invalid", "limit")
	// The same address, or the same proxy account with another password, is a conflict.
	e.call("POST", "/v1/static-ips", adminToken, map[string]any{"ips": []map[string]string{{"address": "203.0.113.1", "country": "us"}}}).
		expectErr(t, 409, "conflict", "")
	dup := e.call("POST", "/v1/static-ips", adminToken, map[string]any{"ips": []map[string]string{
		{"address": "203.0.113.50", "country": "us"},
		{"upstream": "socks5://proxy.example:1080:acct:other-pw", "country": "us"},
	}})
	dup.expectErr(t, 409, "conflict", "")
	if strings.Contains(string(dup.Body), "other-pw") {
		t.Fatalf("the conflict shows the password: %s", dup.Body)
	}
	e.call("GET", "/v1/static-ips", adminToken, nil).expect(t, 200).into(t, &page)
	if len(page.Items) != 5 {
		t.Fatalf("refused adds changed the inventory to %d entries", len(page.Items))
	}

	// Resellers do not manage the inventory.
	_, tok := e.reseller("acme", 0)
	e.call("POST", "/v1/static-ips", tok, map[string]any{"ips": []map[string]string{{"address": "203.0.113.9", "country": "us"}}}).
		expectErr(t, 403, "forbidden", "")
	e.call("GET", "/v1/static-ips", tok, nil).expectErr(t, 403, "forbidden", "")
	e.call("DELETE", "/v1/static-ips/"+itoa(all.Items[0].ID), tok, nil).expectErr(t, 403, "forbidden", "")

	// Removing: a free entry goes, an unknown one is not found.
	e.call("DELETE", "/v1/static-ips/"+itoa(all.Items[3].ID), adminToken, nil).expect(t, 204)
	e.call("DELETE", "/v1/static-ips/"+itoa(all.Items[3].ID), adminToken, nil).expectErr(t, 404, "not_found", "")
	e.call("DELETE", "/v1/static-ips/nope", adminToken, nil).expectErr(t, 404, "not_found", "")
}

type allocated struct {
	IPs     []staticIP
	SubUser subUser
}

func TestResellerAllocatesStaticIPs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inv := e.stockInventory()
	id, tok := e.reseller("acme", 0)
	e.call("POST", "/v1/resellers/"+itoa(id)+"/credit", adminToken, map[string]any{"product": "stc", "bytes": 10_000}).expect(t, 200)
	u := e.createSubUser(tok, "alice", 0)
	path := "/v1/subusers/" + u.Hash + "/static-ips"
	body := map[string]any{"country": "us", "access_point": "nyc", "count": 2, "bandwidth_bytes": 3000}

	first := e.call("POST", path, tok, body, "Idempotency-Key", "alloc-1").expect(t, 201)
	var got allocated
	first.into(t, &got)
	if len(got.IPs) != 2 || got.IPs[0].ID != inv.Items[0].ID || got.IPs[1].ID != inv.Items[1].ID || got.IPs[0].SubUserID != u.ID {
		t.Fatalf("allocated %+v, want the two lowest us/nyc ids", got.IPs)
	}
	if got.SubUser.Traffic["stc"].Available != 3000 {
		t.Fatalf("stc given: %+v", got.SubUser.Traffic)
	}
	// A retry with the same key answers the same and allocates nothing more.
	again := e.call("POST", path, tok, body, "Idempotency-Key", "alloc-1").expect(t, 201)
	if string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered differently:\n%s\n%s", first.Body, again.Body)
	}
	if p := e.pools(id); p["stc"] != 10_000-3000 {
		t.Fatalf("pool after a retried allocation: %v", p)
	}
	var free staticIPList
	e.call("GET", "/v1/static-ips?allocated=false&country=us", adminToken, nil).expect(t, 200).into(t, &free)
	if len(free.Items) != 2 {
		t.Fatalf("%d free us IPs after a retried allocation of 2 out of 4", len(free.Items))
	}
	var taken staticIPList
	e.call("GET", "/v1/static-ips?allocated=true", adminToken, nil).expect(t, 200).into(t, &taken)
	if len(taken.Items) != 2 || taken.Items[0].SubUserID != u.ID {
		t.Fatalf("allocated list %+v", taken)
	}

	// Bad input names the field; too few free IPs or too little pool is 422; nothing changes.
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"country": "us", "count": 0}, "count"},
		{map[string]any{"country": "us", "count": 1001}, "count"},
		{map[string]any{"country": "usa", "count": 1}, "country"},
		{map[string]any{"count": 1}, "country"},
		{map[string]any{"country": "us", "access_point": "new york", "count": 1}, "access_point"},
		{map[string]any{"country": "us", "count": 1, "bandwidth_bytes": -1}, "bandwidth_bytes"},
		{map[string]any{"country": "us", "count": "two"}, "count"},
		{map[string]any{"country": "us", "count": 1, "ips": 1}, "ips"},
	} {
		e.call("POST", path, tok, c.body).expectErr(t, 400, "invalid", c.field)
	}
	e.call("POST", path, tok, map[string]any{"country": "us", "count": 3}).expectErr(t, 422, "insufficient", "")
	e.call("POST", path, tok, map[string]any{"country": "us", "count": 1, "bandwidth_bytes": 1_000_000}).expectErr(t, 422, "insufficient", "")
	e.call("GET", "/v1/static-ips?allocated=false&country=us", adminToken, nil).expect(t, 200).into(t, &free)
	if len(free.Items) != 2 {
		t.Fatalf("refused allocations left %d free us IPs, want 2", len(free.Items))
	}

	// The reseller sees its sub-user's IPs; a proxy only as scheme://host:port.
	var proxyAlloc allocated
	e.call("POST", path, tok, map[string]any{"country": "us", "count": 2}).expect(t, 201).into(t, &proxyAlloc)
	var mine staticIPList
	listing := e.call("GET", path, tok, nil).expect(t, 200)
	listing.into(t, &mine)
	if len(mine.Items) != 4 || mine.Items[3].Upstream != "socks5://proxy.example:1080" {
		t.Fatalf("alice's IPs %+v", mine.Items)
	}
	if strings.Contains(string(listing.Body), proxySecret) || strings.Contains(string(listing.Body), "acct") {
		t.Fatalf("a reseller sees the proxy account: %s", listing.Body)
	}

	// Another reseller's sub-user is 404 and keeps its IPs.
	_, otherTok := e.reseller("other", 0)
	e.call("POST", path, otherTok, map[string]any{"country": "us", "count": 1}).expectErr(t, 404, "not_found", "")
	e.call("GET", path, otherTok, nil).expectErr(t, 404, "not_found", "")
	e.call("DELETE", path, otherTok, nil).expectErr(t, 404, "not_found", "")
	e.call("GET", path, tok, nil).expect(t, 200).into(t, &mine)
	if len(mine.Items) != 4 {
		t.Fatalf("another reseller changed alice's IPs: %+v", mine.Items)
	}

	// An allocated IP cannot leave the inventory.
	e.call("DELETE", "/v1/static-ips/"+itoa(mine.Items[0].ID), adminToken, nil).expectErr(t, 409, "conflict", "")

	// Release some, then all.
	e.call("DELETE", path, tok, map[string]any{"ids": []int64{}}).expectErr(t, 400, "invalid", "ids")
	e.call("DELETE", path, tok, map[string]any{"ids": []int64{0}}).expectErr(t, 400, "invalid", "ids[0]")
	var rel struct{ Released int }
	e.call("DELETE", path, tok, map[string]any{"ids": []int64{mine.Items[0].ID, 999_999}}).expect(t, 200).into(t, &rel)
	if rel.Released != 1 {
		t.Fatalf("released %d, want 1", rel.Released)
	}
	e.call("DELETE", path, tok, nil).expect(t, 200).into(t, &rel)
	if rel.Released != 3 {
		t.Fatalf("released %d, want the other 3", rel.Released)
	}
	e.call("GET", path, tok, nil).expect(t, 200).into(t, &mine)
	if len(mine.Items) != 0 {
		t.Fatalf("after releasing all: %+v", mine.Items)
	}
	e.call("DELETE", "/v1/static-ips/"+itoa(inv.Items[0].ID), adminToken, nil).expect(t, 204)
	e.checkInvariant(id)
}
