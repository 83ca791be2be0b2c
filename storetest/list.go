package storetest

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// listFixture creates sub-users with distinct texts, statuses and balances
// across two resellers, plus a deleted one, and returns the first
// reseller's live sub-users.
func listFixture(e *env) (*subgate.Reseller, []*subgate.SubUser) {
	e.t.Helper()
	r := e.reseller(map[subgate.Product]int64{res: 1_000_000, dc: 1_000_000})
	other := e.reseller(map[subgate.Product]int64{res: 1000})
	e.subUser(other.ID, map[subgate.Product]int64{res: 10})
	specs := []struct {
		username, name, note string
		status               subgate.Status
		give, used           int64
	}{
		{"alpha_one", "Alpha", "", subgate.StatusActive, 500, 100},
		{"bravo", "Bravo Team", "vip customer", subgate.StatusDisabled, 300, 0},
		{"charlie", "", "needs 100%", subgate.StatusActive, 300, 250},
		{"delta_x", "Delta", "", subgate.StatusActive, 900, 5},
		{"echo", "ECHO VIP", "", subgate.StatusDisabled, 0, 0},
		{"foxtrot", "Fox", "a_b literal", subgate.StatusActive, 700, 700},
		{"golf", "Golf", "axb", subgate.StatusActive, 300, 1},
		{"hotel", "Hotel", "", subgate.StatusActive, 50, 0},
		{"india", "India", "", subgate.StatusActive, 300, 0},
		{"juliet", "Juliet", "", subgate.StatusActive, 1, 0},
		{"kilo", "Kilo", "", subgate.StatusActive, 300, 0},
		{"lima", "Lima", "", subgate.StatusActive, 300, 0},
	}
	var out []*subgate.SubUser
	now := time.Now()
	for i, sp := range specs {
		u := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: sp.username, Password: "pw12345",
			Name: sp.name, Note: sp.note, Status: sp.status}
		initial := map[subgate.Product]int64{}
		if sp.give > 0 {
			initial[res] = sp.give
		}
		if i%3 == 0 {
			initial[dc] = 7 // totals span products
		}
		e.must(e.s.CreateSubUser(e.ctx, u, initial, ""))
		if sp.used > 0 {
			e.flush("node", now, []subgate.UsageItem{use(u.ID, res, now, sp.used)}, nil)
		}
		out = append(out, u)
	}
	gone := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: "alpha_gone", Password: "pw12345",
		Name: "Alpha deleted", Status: subgate.StatusActive}
	e.must(e.s.CreateSubUser(e.ctx, gone, map[subgate.Product]int64{res: 5}, ""))
	e.must(e.s.DeleteSubUser(e.ctx, 0, gone.ID, now))
	for i, u := range out {
		out[i] = e.get(u.ID)
	}
	return r, out
}

func ids(list []*subgate.SubUser) []int64 {
	out := make([]int64, len(list))
	for i, u := range list {
		out[i] = u.ID
	}
	return out
}

// expectOrder sorts a copy of list the way the store must.
func expectOrder(list []*subgate.SubUser, s subgate.SubUserSort, desc bool) []int64 {
	cp := append([]*subgate.SubUser(nil), list...)
	key := func(u *subgate.SubUser) (int64, string) {
		switch s {
		case subgate.SortUsername:
			return 0, u.Username
		case subgate.SortStatus:
			return 0, string(u.Status)
		case subgate.SortCreatedAt:
			return u.CreatedAt.UnixNano(), ""
		case subgate.SortUsed:
			return u.TotalUsed(), ""
		case subgate.SortAvailable:
			return u.TotalAvailable(), ""
		}
		return u.ID, ""
	}
	less := func(x, y *subgate.SubUser) bool {
		a, as := key(x)
		b, bs := key(y)
		return a < b || (a == b && as < bs) || (a == b && as == bs && x.ID < y.ID)
	}
	sort.Slice(cp, func(i, j int) bool {
		if desc {
			return less(cp[j], cp[i])
		}
		return less(cp[i], cp[j])
	})
	return ids(cp)
}

func (e *env) list(f subgate.SubUserFilter) *subgate.SubUserPage {
	e.t.Helper()
	page, err := e.s.SubUsers(e.ctx, f)
	e.must(err)
	return page
}

var allSorts = []subgate.SubUserSort{subgate.SortID, subgate.SortUsername, subgate.SortCreatedAt,
	subgate.SortUsed, subgate.SortAvailable, subgate.SortStatus}

var listTests = []test{
	{"SortsBothWays", func(t *testing.T, e *env) {
		r, all := listFixture(e)
		for _, s := range allSorts {
			for _, desc := range []bool{false, true} {
				page := e.list(subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Sort: s, Desc: desc, Limit: 100})
				if got, want := ids(page.Items), expectOrder(all, s, desc); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("sort %s desc=%v: %v, want %v", s, desc, got, want)
				}
				if page.Next != "" || page.Total != -1 {
					t.Fatalf("sort %s: Next %q Total %d on a complete page without WithTotal", s, page.Next, page.Total)
				}
			}
		}
	}},
	{"OffsetPages", func(t *testing.T, e *env) {
		r, all := listFixture(e)
		for _, s := range allSorts {
			for _, desc := range []bool{false, true} {
				var got []int64
				for off := 0; off < 20; off += 5 {
					page := e.list(subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Sort: s, Desc: desc, Limit: 5, Offset: off, WithTotal: true})
					if page.Total != int64(len(all)) {
						t.Fatalf("total = %d, want %d", page.Total, len(all))
					}
					got = append(got, ids(page.Items)...)
				}
				if want := expectOrder(all, s, desc); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("offset pages sort %s desc=%v: %v, want %v", s, desc, got, want)
				}
			}
		}
	}},
	{"CursorPages", func(t *testing.T, e *env) {
		r, all := listFixture(e)
		for _, s := range allSorts {
			for _, desc := range []bool{false, true} {
				var got []int64
				f := subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Sort: s, Desc: desc, Limit: 5}
				for pages := 0; ; pages++ {
					if pages > 10 {
						t.Fatal("cursor pages never end")
					}
					page := e.list(f)
					got = append(got, ids(page.Items)...)
					if page.Next == "" {
						break
					}
					f.After = page.Next
					f.Offset = 3 // ignored with a cursor
				}
				if want := expectOrder(all, s, desc); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("cursor pages sort %s desc=%v: %v, want %v", s, desc, got, want)
				}
			}
		}
		// A cursor survives rows inserted before it.
		f := subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Limit: 4}
		first := e.list(f)
		e.subUser(r.ID, nil)
		f.After = first.Next
		second := e.list(f)
		if want := expectOrder(all, subgate.SortID, false)[4:8]; fmt.Sprint(ids(second.Items)) != fmt.Sprint(want) {
			t.Fatalf("second page %v, want %v", ids(second.Items), want)
		}
		_, err := e.s.SubUsers(e.ctx, subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Limit: 4, After: "garbage!"})
		wantCode(t, err, subgate.EINVALID)
	}},
	{"SearchAndStatus", func(t *testing.T, e *env) {
		r, all := listFixture(e)
		byName := map[string]int64{}
		for _, u := range all {
			byName[u.Username] = u.ID
		}
		cases := []struct {
			search string
			status subgate.Status
			want   []string
		}{
			{"alpha", "", []string{"alpha_one"}},   // username (the deleted "Alpha deleted" is not listed)
			{"ALPHA_", "", []string{"alpha_one"}},  // case-insensitive, '_' literal
			{"team", "", []string{"bravo"}},        // name
			{"vip", "", []string{"bravo", "echo"}}, // note and name
			{"100%", "", []string{"charlie"}},      // '%' literal
			{"a_b", "", []string{"foxtrot"}},       // '_' is not a wildcard
			{"o", subgate.StatusDisabled, []string{"bravo", "echo"}},
			{"", subgate.StatusDisabled, []string{"bravo", "echo"}},
			{"zz", "", nil},
			{"nothing-like-it", "", nil},
			{"el", "", []string{"delta_x", "hotel"}}, // short term
			{"ta_", "", []string{"delta_x"}},
		}
		for _, c := range cases {
			page := e.list(subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Search: c.search, Status: c.status, Limit: 100, WithTotal: true})
			var want []int64
			for _, n := range c.want {
				want = append(want, byName[n])
			}
			if fmt.Sprint(ids(page.Items)) != fmt.Sprint(want) || page.Total != int64(len(want)) {
				t.Fatalf("search %q status %q: %v (total %d), want %v %v", c.search, c.status, ids(page.Items), page.Total, want, c.want)
			}
		}
		// Search and cursor pages combine.
		var got []int64
		f := subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Search: "o", Sort: subgate.SortUsername, Limit: 2}
		for range 10 {
			page := e.list(f)
			got = append(got, ids(page.Items)...)
			if f.After = page.Next; f.After == "" {
				break
			}
		}
		var want []*subgate.SubUser
		for _, u := range all {
			if strings.Contains(strings.ToLower(u.Username+"\n"+u.Name+"\n"+u.Note), "o") {
				want = append(want, u)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(expectOrder(want, subgate.SortUsername, false)) {
			t.Fatalf("search pages %v, want %v", got, expectOrder(want, subgate.SortUsername, false))
		}
	}},
	{"StatusInEveryOrder", func(t *testing.T, e *env) {
		r, all := listFixture(e)
		for _, status := range []subgate.Status{subgate.StatusDisabled, subgate.StatusActive, subgate.StatusBlocked} {
			var want []*subgate.SubUser
			for _, u := range all {
				if u.Status == status {
					want = append(want, u)
				}
			}
			for _, s := range []subgate.SubUserSort{subgate.SortUsed, subgate.SortAvailable, subgate.SortUsername, subgate.SortCreatedAt} {
				for _, desc := range []bool{false, true} {
					var got []int64
					f := subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Status: status, Sort: s, Desc: desc, Limit: 3}
					for range 20 {
						page := e.list(f)
						got = append(got, ids(page.Items)...)
						if f.After = page.Next; f.After == "" {
							break
						}
					}
					if fmt.Sprint(got) != fmt.Sprint(expectOrder(want, s, desc)) {
						t.Fatalf("status %s sort %s desc %t: %v, want %v", status, s, desc, got, expectOrder(want, s, desc))
					}
				}
			}
		}
	}},
	{"TotalsInEveryOrder", func(t *testing.T, e *env) {
		r, all := listFixture(e)
		count := func(scope subgate.Scope, search string, status subgate.Status) int64 {
			var n int64
			for _, u := range all {
				text := strings.ToLower(u.Username + "\n" + u.Name + "\n" + u.Note)
				if (scope == 0 || u.ResellerID == int64(scope)) && strings.Contains(text, strings.ToLower(search)) &&
					(status == "" || u.Status == status) {
					n++
				}
			}
			return n
		}
		for _, c := range []struct {
			scope  subgate.Scope
			search string
			status subgate.Status
		}{
			{subgate.Scope(r.ID), "", ""}, {subgate.Scope(r.ID), "", subgate.StatusDisabled},
			{subgate.Scope(r.ID), "vip", ""}, {subgate.Scope(r.ID), "o", subgate.StatusActive},
			{0, "alpha", ""}, {0, "", subgate.StatusDisabled},
		} {
			want := count(c.scope, c.search, c.status)
			if c.scope == 0 && c.search == "" && c.status == "" {
				want++ // the other reseller's sub-user
			}
			for _, s := range []subgate.SubUserSort{subgate.SortID, subgate.SortUsed, subgate.SortAvailable, subgate.SortStatus} {
				for _, estimate := range []bool{false, true} {
					// A filter over fewer rows than a sample is counted exactly.
					page := e.list(subgate.SubUserFilter{Scope: c.scope, Search: c.search, Status: c.status, Sort: s,
						Limit: 2, WithTotal: true, EstimateTotal: estimate})
					if page.Total != want || page.TotalEstimated {
						t.Fatalf("%+v sort %s estimate %t: total %d (estimated %t), want %d", c, s, estimate, page.Total, page.TotalEstimated, want)
					}
				}
			}
		}
	}},
	{"AdminSeesAllResellers", func(t *testing.T, e *env) {
		_, all := listFixture(e)
		page := e.list(subgate.SubUserFilter{Limit: 1000, WithTotal: true})
		if page.Total != int64(len(all)+1) || len(page.Items) != len(all)+1 {
			t.Fatalf("admin list: %d items, total %d; want %d", len(page.Items), page.Total, len(all)+1)
		}
		page = e.list(subgate.SubUserFilter{Limit: 3, WithTotal: true, Status: subgate.StatusActive})
		if page.Total != 11 || len(page.Items) != 3 || page.Next == "" {
			t.Fatalf("admin active: %d items, total %d, next %q", len(page.Items), page.Total, page.Next)
		}
	}},
	{"ServiceValidatesFilter", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		p := subgate.Principal{ResellerID: r.ID}
		for _, f := range []subgate.SubUserFilter{{Sort: "price"}, {Limit: 1001}, {Offset: -1}, {Status: "gone"}} {
			_, err := e.svc.SubUsers(e.ctx, p, f)
			wantCode(t, err, subgate.EINVALID)
		}
	}},
}
