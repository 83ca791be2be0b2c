package postgres_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// Lists in usage order test the status and search text the totals carry:
// a change of either shows in them at once, as in every other order.
func TestUsageOrderSeesStatusAndSearchChanges(t *testing.T) {
	st := openStore(t)
	fx := newFixture(t, st, 1_000_000, 3)
	var made []int64
	for i := range 3 {
		u := newSubUser(fx.r.ID, fmt.Sprintf("copy%02d", i))
		u.Name = "Heron"
		if err := st.CreateSubUser(fx.ctx, u, map[subgate.Product]int64{subgate.ProductResidential: int64(10 * i)}, ""); err != nil {
			t.Fatal(err)
		}
		made = append(made, u.ID)
	}
	scope := subgate.Scope(fx.r.ID)
	list := func(search string, status subgate.Status) []int64 {
		var got []int64
		for _, sort := range []subgate.SubUserSort{subgate.SortUsed, subgate.SortAvailable} {
			ids := listAll(t, fx, subgate.SubUserFilter{Scope: scope, Sort: sort, Search: search, Status: status, Limit: 2})
			slices.Sort(ids)
			if got != nil && !slices.Equal(got, ids) {
				t.Fatalf("search %q status %q: by used %v, by available %v", search, status, got, ids)
			}
			got = ids
		}
		return got
	}
	if got := list("heron", ""); !slices.Equal(got, made) {
		t.Fatalf("before the change: %v, want %v", got, made)
	}
	name, status := "Egret Lake", subgate.StatusDisabled
	upd := subgate.SubUserUpdate{Name: &name, Status: &status}
	if _, err := st.UpdateSubUser(fx.ctx, scope, made[1], upd, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := list("heron", ""); !slices.Equal(got, []int64{made[0], made[2]}) {
		t.Errorf("old name after the change: %v", got)
	}
	if got := list("egret", subgate.StatusDisabled); !slices.Equal(got, []int64{made[1]}) {
		t.Errorf("new name and status: %v", got)
	}
	if got := list("heron", subgate.StatusDisabled); len(got) != 0 {
		t.Errorf("old name among the disabled: %v", got)
	}
}
