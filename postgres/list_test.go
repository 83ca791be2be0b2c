package postgres_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/postgres"
)

// listAll walks every page of f by cursor and returns the ids in order.
func listAll(t *testing.T, fx *fixture, f subgate.SubUserFilter) []int64 {
	t.Helper()
	var ids []int64
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
		page, err := fx.st.SubUsers(fx.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Items {
			ids = append(ids, u.ID)
		}
		if page.Next == "" {
			return ids
		}
		f.After = page.Next
	}
}

func TestListSortsSearchesAndPagesByKeyset(t *testing.T) {
	st := openStore(t)
	fx := newFixture(t, st, 1_000_000, 7)
	all := []*subgate.SubUser{fx.u}
	for i := range 23 {
		u := newSubUser(fx.r.ID, fmt.Sprintf("user%02d_%c", i, 'a'+i%3))
		u.Name = fmt.Sprintf("Name %d", i%4)
		u.Note = []string{"VIP client", "trial", "50% off", ""}[i%4]
		if i%5 == 0 {
			u.Status = subgate.StatusDisabled
		}
		given := map[subgate.Product]int64{subgate.ProductResidential: int64(i % 6 * 10)}
		if err := st.CreateSubUser(fx.ctx, u, given, ""); err != nil {
			t.Fatal(err)
		}
		all = append(all, u)
	}
	other := newFixture(t, st, 10, 1) // another reseller's sub-user never shows up
	scope := subgate.Scope(fx.r.ID)

	sorts := map[subgate.SubUserSort]func(a, b *subgate.SubUser) int{
		subgate.SortID:        func(a, b *subgate.SubUser) int { return 0 },
		subgate.SortUsername:  func(a, b *subgate.SubUser) int { return cmp.Compare(a.Username, b.Username) },
		subgate.SortAvailable: func(a, b *subgate.SubUser) int { return cmp.Compare(a.TotalAvailable(), b.TotalAvailable()) },
		subgate.SortStatus:    func(a, b *subgate.SubUser) int { return cmp.Compare(a.Status, b.Status) },
		subgate.SortCreatedAt: func(a, b *subgate.SubUser) int { return a.CreatedAt.Compare(b.CreatedAt) },
	}
	for sort, by := range sorts {
		for _, desc := range []bool{false, true} {
			want := slices.Clone(all)
			slices.SortFunc(want, func(a, b *subgate.SubUser) int {
				c := cmp.Or(by(a, b), cmp.Compare(a.ID, b.ID))
				if desc {
					return -c
				}
				return c
			})
			got := listAll(t, fx, subgate.SubUserFilter{Scope: scope, Sort: sort, Desc: desc, Limit: 5})
			if !slices.Equal(got, ids(want)) {
				t.Errorf("sort %s desc %v: got %v, want %v", sort, desc, got, ids(want))
			}
		}
	}

	search := func(s string, status subgate.Status) []int64 {
		return listAll(t, fx, subgate.SubUserFilter{Scope: scope, Search: s, Status: status, Limit: 4})
	}
	matching := func(keep func(u *subgate.SubUser) bool) []int64 {
		var out []int64
		for _, u := range all {
			if keep(u) {
				out = append(out, u.ID)
			}
		}
		return out
	}
	if got, want := search("vip", ""), matching(func(u *subgate.SubUser) bool { return u.Note == "VIP client" }); !slices.Equal(got, want) {
		t.Errorf("search vip: %v, want %v", got, want)
	}
	// LIKE wildcards in a search are literal characters.
	if got, want := search("0%", ""), matching(func(u *subgate.SubUser) bool { return u.Note == "50% off" }); !slices.Equal(got, want) {
		t.Errorf("search 0%%: %v, want %v", got, want)
	}
	if got, want := search("1_B", ""), matching(func(u *subgate.SubUser) bool {
		return u.Username == "user01_b" || u.Username == "user11_b" || u.Username == "user21_b"
	}); !slices.Equal(got, want) {
		t.Errorf("search 1_B: %v, want %v", got, want)
	}
	if got, want := search("name 2", subgate.StatusDisabled), matching(func(u *subgate.SubUser) bool {
		return u.Name == "Name 2" && u.Status == subgate.StatusDisabled
	}); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("search name 2 disabled: %v, want %v", got, want)
	}

	// Case folding is not limited to ASCII.
	fx.u.Name = "ÄRGER Straße"
	if _, err := st.UpdateSubUser(fx.ctx, scope, fx.u.ID, subgate.SubUserUpdate{Name: &fx.u.Name}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"ärger", "RGER s", "straße"} {
		if got := search(q, ""); !slices.Equal(got, []int64{fx.u.ID}) {
			t.Errorf("search %q: %v, want [%d]", q, got, fx.u.ID)
		}
	}
	page, err := st.SubUsers(fx.ctx, subgate.SubUserFilter{Scope: scope, Search: "trial", WithTotal: true, Limit: 1})
	if err != nil || page.Total != 6 || len(page.Items) != 1 {
		t.Fatalf("search total: %v %+v", err, page)
	}
	page, err = st.SubUsers(fx.ctx, subgate.SubUserFilter{Scope: scope, Limit: 10, Offset: 20, WithTotal: true})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != int64(len(all)) || len(page.Items) != 4 || page.Items[0].ID != all[20].ID || page.Next != "" {
		t.Fatalf("offset page: total %d, %d items, next %q", page.Total, len(page.Items), page.Next)
	}
	if page, _ := st.SubUsers(fx.ctx, subgate.SubUserFilter{Scope: scope}); page.Total != -1 {
		t.Fatalf("total without WithTotal: %d", page.Total)
	}
	admin := listAll(t, fx, subgate.SubUserFilter{Limit: 1000})
	if len(admin) != len(all)+1 || !slices.Contains(admin, other.u.ID) {
		t.Fatalf("admin list %v", admin)
	}
	first, _ := st.SubUsers(fx.ctx, subgate.SubUserFilter{Scope: scope, Sort: subgate.SortUsername, Limit: 2})
	_, err = st.SubUsers(fx.ctx, subgate.SubUserFilter{Scope: scope, Sort: subgate.SortUsed, Limit: 2, After: first.Next})
	wantCode(t, err, subgate.EINVALID)
	_, err = st.SubUsers(fx.ctx, subgate.SubUserFilter{Scope: scope, After: "not a cursor"})
	wantCode(t, err, subgate.EINVALID)

	// Deleted sub-users leave every list.
	if err := st.DeleteSubUser(fx.ctx, scope, all[3].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, fx, subgate.SubUserFilter{Scope: scope, Limit: 1000}); slices.Contains(got, all[3].ID) || len(got) != len(all)-1 {
		t.Fatalf("list after delete: %v", got)
	}
	if page, err := st.SubUsers(fx.ctx, subgate.SubUserFilter{Scope: scope, WithTotal: true}); err != nil || page.Total != int64(len(all)-1) {
		t.Fatalf("total after delete: %v %d", err, page.Total)
	}
	if n, err := st.CountSubUsers(fx.ctx, fx.r.ID); err != nil || n != int64(len(all)-1) {
		t.Fatalf("count after delete: %v %d", err, n)
	}
}

func ids(us []*subgate.SubUser) []int64 {
	out := make([]int64, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

// A search judges from a window of the list how common its term is, then
// goes on walking the list or from the trigram index: every way lists the
// same matches in the same order as the whole list does.
func TestSearchPagesAlikeWhicheverWayTheyGoOn(t *testing.T) {
	st := openStore(t)
	fx := newFixture(t, st, 1_000_000, 3)
	for i := range 40 {
		u := newSubUser(fx.r.ID, fmt.Sprintf("member%02d", i))
		u.Name = []string{"Falcon Team", "river side", "Stone", "maple falcon"}[i%4]
		if i%7 == 0 {
			u.Note = "rare orchid"
		}
		if i%3 == 0 {
			u.Status = subgate.StatusDisabled
		}
		given := map[subgate.Product]int64{subgate.ProductResidential: int64(i % 9 * 10)}
		if err := st.CreateSubUser(fx.ctx, u, given, ""); err != nil {
			t.Fatal(err)
		}
	}
	newFixture(t, st, 10, 1) // another reseller's
	matches := func(u *subgate.SubUser, search string) bool {
		return strings.Contains(strings.ToLower(u.Username+"\x1f"+u.Name+"\x1f"+u.Note), search)
	}
	ways := []struct {
		name      string
		window    int
		indexRows int64
		limit     int
	}{{"one window", 1000, 3000, 3}, {"walking on", 15, 0, 8}, {"from the index", 2, 1 << 40, 3}, {"window of one", 1, 1 << 40, 2}}
	sorts := []subgate.SubUserSort{subgate.SortID, subgate.SortUsername, subgate.SortCreatedAt, subgate.SortStatus, subgate.SortUsed, subgate.SortAvailable}
	for _, scope := range []subgate.Scope{subgate.Scope(fx.r.ID), 0} {
		for _, sort := range sorts {
			for _, desc := range []bool{false, true} {
				for _, status := range []subgate.Status{"", subgate.StatusDisabled} {
					base := subgate.SubUserFilter{Scope: scope, Sort: sort, Desc: desc, Status: status, Limit: 1000}
					page, err := st.SubUsers(fx.ctx, base)
					if err != nil {
						t.Fatal(err)
					}
					for _, search := range []string{"falcon", "orchid", "member1", "nothing"} {
						var want []int64
						for _, u := range page.Items {
							if matches(u, search) {
								want = append(want, u.ID)
							}
						}
						for _, w := range ways {
							restore := postgres.SetSearchWindow(w.window, w.indexRows)
							f := base
							f.Search, f.Limit = search, w.limit
							got := listAll(t, fx, f)
							restore()
							if !slices.Equal(got, want) {
								t.Errorf("%s: scope %d %s desc %v status %q search %q: got %v, want %v",
									w.name, scope, sort, desc, status, search, got, want)
							}
						}
					}
				}
			}
		}
	}
}
