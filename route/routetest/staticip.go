// Package routetest is the shared test suite of subgate.StaticIPStore; the
// sqlite and postgres packages run it against a real database.
package routetest

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// Store is what the suite needs: the domain store and its static IP side.
type Store interface {
	subgate.Store
	subgate.StaticIPStore
}

// RunStaticIPs runs every static IP test on stores from open (one fresh,
// empty store per call).
func RunStaticIPs(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Inventory", func(t *testing.T) { testInventory(t, open(t)) })
	t.Run("AllocateIsAllOrNothing", func(t *testing.T) { testAllocate(t, open(t)) })
	t.Run("ConcurrentAllocationsNeverShare", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("ReleaseAndDelete", func(t *testing.T) { testRelease(t, open(t)) })
	t.Run("UpstreamIdentityAndFilters", func(t *testing.T) { testUpstreams(t, open(t)) })
}

// testUpstreams: a static proxy reads back exactly as stocked (its password
// is sealed at rest); the same proxy with another password is the same
// entry; the allocated filter is the opposite of the free one.
func testUpstreams(t *testing.T, st Store) {
	f := newFixture(t, st)
	ups := []*subgate.StaticIP{
		{Upstream: "socks5://10.0.0.1:1080:alice:pa:ss", Country: "de"},
		{Upstream: "10.0.0.1:8080:bob:pw", Country: "de"}, // same host, other user: another IP
		{Upstream: "[2001:db8::1]:8080", Country: "de"},
	}
	if err := st.AddStaticIPs(f.ctx, ups); err != nil {
		t.Fatal(err)
	}
	for _, dup := range []string{"socks5://10.0.0.1:1080:alice:other", "socks5://10.0.0.1:1080:alice", "[2001:db8::1]:8080"} {
		err := st.AddStaticIPs(f.ctx, []*subgate.StaticIP{{Upstream: dup, Country: "de"}})
		wantCode(t, err, subgate.ECONFLICT)
		if e := err.Error(); dup != "[2001:db8::1]:8080" && (contains(e, "other") || contains(e, "pa:ss")) {
			t.Errorf("conflict message shows a password: %s", e)
		}
	}
	all, err := st.StaticIPs(f.ctx, subgate.StaticIPFilter{Country: "de"})
	if err != nil || len(all) != 3 {
		t.Fatalf("inventory = %v, %v", all, err)
	}
	for i, ip := range all {
		if ip.Upstream != ups[i].Upstream {
			t.Errorf("read back %q, stocked %q", ip.Upstream, ups[i].Upstream)
		}
	}
	got, err := f.allocate(0, f.u1, 1, "de", "")
	if err != nil || got[0].Upstream != ups[0].Upstream {
		t.Fatalf("allocated %v, %v", got, err)
	}
	mine, err := st.SubUserStaticIPs(f.ctx, f.u1.ID)
	if err != nil || len(mine) != 1 || mine[0].Upstream != ups[0].Upstream {
		t.Fatalf("the router's query read %v, %v", mine, err)
	}
	allocated, err := st.StaticIPs(f.ctx, subgate.StaticIPFilter{AllocatedOnly: true})
	if err != nil || len(allocated) != 1 || allocated[0].ID != ups[0].ID {
		t.Fatalf("allocated only: %v, %v", allocated, err)
	}
	free, err := st.StaticIPs(f.ctx, subgate.StaticIPFilter{FreeOnly: true})
	if err != nil || len(free) != 2 {
		t.Fatalf("free only: %v, %v", free, err)
	}
	// A deleted sub-user's IPs count as free, not allocated.
	if err := st.DeleteSubUser(f.ctx, 0, f.u1.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if allocated, _ := st.StaticIPs(f.ctx, subgate.StaticIPFilter{AllocatedOnly: true}); len(allocated) != 0 {
		t.Errorf("a deleted sub-user's IP still counts as allocated: %v", allocated)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

type fixture struct {
	st   Store
	ctx  context.Context
	r1   *subgate.Reseller
	r2   *subgate.Reseller
	u1   *subgate.SubUser // of r1
	u2   *subgate.SubUser // of r1
	u3   *subgate.SubUser // of r2
	next int
}

func newFixture(t *testing.T, st Store) *fixture {
	t.Helper()
	f := &fixture{st: st, ctx: context.Background()}
	f.r1, f.r2 = f.reseller(t), f.reseller(t)
	f.u1, f.u2, f.u3 = f.subUser(t, f.r1), f.subUser(t, f.r1), f.subUser(t, f.r2)
	return f
}

func (f *fixture) reseller(t *testing.T) *subgate.Reseller {
	t.Helper()
	f.next++
	r := &subgate.Reseller{Name: "r" + strconv.Itoa(f.next)}
	if err := f.st.CreateReseller(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) subUser(t *testing.T, r *subgate.Reseller) *subgate.SubUser {
	t.Helper()
	f.next++
	u := &subgate.SubUser{Hash: subgate.NewHash(), ResellerID: r.ID, Username: "user" + strconv.Itoa(f.next) + "_" + subgate.NewHash()[20:],
		Password: "pw1234", Status: subgate.StatusActive}
	if err := f.st.CreateSubUser(f.ctx, u, nil, ""); err != nil {
		t.Fatal(err)
	}
	return u
}

// stock adds n IPs (127.1.x.y) of a country and access point.
func (f *fixture) stock(t *testing.T, n int, country, ap string) []*subgate.StaticIP {
	t.Helper()
	ips := make([]*subgate.StaticIP, n)
	for i := range ips {
		f.next++
		ips[i] = &subgate.StaticIP{Address: "127.1." + strconv.Itoa(f.next/250) + "." + strconv.Itoa(f.next%250+1), Country: country, AccessPoint: ap}
	}
	if err := f.st.AddStaticIPs(f.ctx, ips); err != nil {
		t.Fatal(err)
	}
	return ips
}

func (f *fixture) free(t *testing.T, country, ap string) int {
	t.Helper()
	l, err := f.st.StaticIPs(f.ctx, subgate.StaticIPFilter{Country: country, AccessPoint: ap, FreeOnly: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

func (f *fixture) allocate(scope subgate.Scope, u *subgate.SubUser, n int, country, ap string) ([]*subgate.StaticIP, error) {
	return f.st.AllocateStaticIPs(f.ctx, subgate.StaticIPAllocation{Scope: scope, SubUserID: u.ID, Country: country, AccessPoint: ap, Count: n, Now: time.Now()})
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if subgate.ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func ids(ips []*subgate.StaticIP) []int64 {
	out := make([]int64, len(ips))
	for i, ip := range ips {
		out[i] = ip.ID
	}
	return out
}

func testInventory(t *testing.T, st Store) {
	f := newFixture(t, st)
	added := f.stock(t, 3, "us", "nyc")
	if added[0].ID == 0 || added[0].CreatedAt.IsZero() || added[1].ID <= added[0].ID {
		t.Fatalf("AddStaticIPs did not fill ids: %+v", added[0])
	}
	proxy := &subgate.StaticIP{Upstream: "socks5://10.0.0.1:1080:u:p", Country: "de"}
	if err := st.AddStaticIPs(f.ctx, []*subgate.StaticIP{proxy}); err != nil {
		t.Fatal(err)
	}
	// A duplicate anywhere in a batch adds nothing from it.
	dup := []*subgate.StaticIP{{Address: "127.9.9.9", Country: "fr"}, {Address: added[1].Address, Country: "fr"}}
	wantCode(t, st.AddStaticIPs(f.ctx, dup), subgate.ECONFLICT)
	if n := f.free(t, "fr", ""); n != 0 {
		t.Errorf("a refused batch left %d entries", n)
	}
	wantCode(t, st.AddStaticIPs(f.ctx, []*subgate.StaticIP{{Upstream: proxy.Upstream, Country: "de"}}), subgate.ECONFLICT)

	all, err := st.StaticIPs(f.ctx, subgate.StaticIPFilter{})
	if err != nil || len(all) != 4 || all[3].Upstream != proxy.Upstream || all[0].Address != added[0].Address {
		t.Fatalf("inventory = %v, %v", all, err)
	}
	page, err := st.StaticIPs(f.ctx, subgate.StaticIPFilter{After: all[1].ID, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != all[2].ID {
		t.Errorf("cursor page = %v, %v", page, err)
	}
	if n := f.free(t, "us", "nyc"); n != 3 {
		t.Errorf("free us/nyc = %d", n)
	}

	// Removing: free entries go, allocated ones stay, unknown ones are not found.
	if _, err := f.allocate(0, f.u1, 1, "us", "nyc"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, st.RemoveStaticIP(f.ctx, added[0].ID), subgate.ECONFLICT)
	if err := st.RemoveStaticIP(f.ctx, added[2].ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, st.RemoveStaticIP(f.ctx, added[2].ID), subgate.ENOTFOUND)
}

func testAllocate(t *testing.T, st Store) {
	f := newFixture(t, st)
	nyc := f.stock(t, 3, "us", "nyc")
	f.stock(t, 1, "us", "lax")
	f.stock(t, 2, "de", "")

	got, err := f.allocate(subgate.Scope(f.r1.ID), f.u1, 2, "us", "nyc")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), ids(nyc[:2])) || got[0].SubUserID != f.u1.ID || got[0].AllocatedAt == nil {
		t.Fatalf("allocated %+v, want the two lowest ids of us/nyc", got)
	}
	// Two more in us/nyc: only one is free, so nothing is allocated.
	_, err = f.allocate(subgate.Scope(f.r1.ID), f.u2, 2, "us", "nyc")
	wantCode(t, err, subgate.EINSUFFICIENT)
	if n := f.free(t, "us", "nyc"); n != 1 {
		t.Errorf("a refused allocation changed the free count to %d", n)
	}
	mine, err := st.SubUserStaticIPs(f.ctx, f.u2.ID)
	if err != nil || len(mine) != 0 {
		t.Errorf("a refused allocation left %v, %v", mine, err)
	}
	// Any access point of a country.
	got, err = f.allocate(subgate.Scope(f.r1.ID), f.u2, 2, "us", "")
	if err != nil || len(got) != 2 {
		t.Fatalf("us, any access point: %v, %v", got, err)
	}
	_, err = f.allocate(0, f.u3, 1, "us", "")
	wantCode(t, err, subgate.EINSUFFICIENT)
	_, err = f.allocate(0, f.u3, 1, "jp", "")
	wantCode(t, err, subgate.EINSUFFICIENT)

	// Another reseller's sub-user is not found, and gets nothing.
	_, err = f.allocate(subgate.Scope(f.r2.ID), f.u1, 1, "de", "")
	wantCode(t, err, subgate.ENOTFOUND)
	if n := f.free(t, "de", ""); n != 2 {
		t.Errorf("free de = %d after a refused allocation", n)
	}
	mine, err = st.SubUserStaticIPs(f.ctx, f.u1.ID)
	if err != nil || !slices.Equal(ids(mine), ids(nyc[:2])) {
		t.Errorf("u1 holds %v, %v", mine, err)
	}
	byUser, err := st.StaticIPs(f.ctx, subgate.StaticIPFilter{SubUserID: f.u2.ID})
	if err != nil || len(byUser) != 2 {
		t.Errorf("filter by sub-user: %v, %v", byUser, err)
	}
}

func testConcurrent(t *testing.T, st Store) {
	f := newFixture(t, st)
	f.stock(t, 5, "us", "")
	users := make([]*subgate.SubUser, 8)
	for i := range users {
		users[i] = f.subUser(t, f.r1)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*subgate.StaticIP
	var insufficient int
	for _, u := range users {
		wg.Go(func() {
			got, err := f.allocate(0, u, 1, "us", "")
			mu.Lock()
			defer mu.Unlock()
			switch subgate.ErrorCode(err) {
			case "":
				won = append(won, got...)
			case subgate.EINSUFFICIENT:
				insufficient++
			default:
				t.Errorf("allocate: %v", err)
			}
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, ip := range won {
		if seen[ip.ID] {
			t.Errorf("IP %d allocated twice", ip.ID)
		}
		seen[ip.ID] = true
	}
	if len(won) != 5 || insufficient != 3 {
		t.Errorf("%d allocated, %d refused; want 5 and 3", len(won), insufficient)
	}
}

func testRelease(t *testing.T, st Store) {
	f := newFixture(t, st)
	f.stock(t, 3, "us", "")
	got, err := f.allocate(0, f.u1, 3, "us", "")
	if err != nil {
		t.Fatal(err)
	}
	// Another reseller cannot release them.
	_, err = st.ReleaseStaticIPs(f.ctx, subgate.Scope(f.r2.ID), f.u1.ID, nil)
	wantCode(t, err, subgate.ENOTFOUND)
	// Ids of another sub-user's IPs are ignored.
	n, err := st.ReleaseStaticIPs(f.ctx, subgate.Scope(f.r1.ID), f.u2.ID, ids(got))
	if err != nil || n != 0 {
		t.Fatalf("release through another sub-user: %d, %v", n, err)
	}
	n, err = st.ReleaseStaticIPs(f.ctx, subgate.Scope(f.r1.ID), f.u1.ID, ids(got[:1]))
	if err != nil || n != 1 {
		t.Fatalf("release one: %d, %v", n, err)
	}
	if mine, _ := st.SubUserStaticIPs(f.ctx, f.u1.ID); len(mine) != 2 {
		t.Errorf("u1 holds %d after releasing one", len(mine))
	}
	if _, err := f.allocate(0, f.u2, 1, "us", ""); err != nil {
		t.Fatalf("the released IP is not free: %v", err)
	}
	// Deleting a sub-user frees what it held.
	if err := st.DeleteSubUser(f.ctx, 0, f.u1.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := f.free(t, "us", ""); n != 2 {
		t.Errorf("free after delete = %d, want 2", n)
	}
	_, err = f.allocate(0, f.u1, 1, "us", "")
	wantCode(t, err, subgate.ENOTFOUND)
	if got, err := f.allocate(0, f.u3, 2, "us", ""); err != nil || len(got) != 2 {
		t.Fatalf("reallocating a deleted sub-user's IPs: %v, %v", got, err)
	}
	n, err = st.ReleaseStaticIPs(f.ctx, 0, f.u3.ID, nil)
	if err != nil || n != 2 {
		t.Errorf("release all: %d, %v", n, err)
	}
}
