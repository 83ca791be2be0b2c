package postgres_test

import (
	"context"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/storetest"
)

// A total asked for as an estimate is one, labelled, wherever an exact count
// would read every match, and close to the exact count; where the count is
// cheap it stays exact.
func TestEstimatedTotals(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	big, small := &subgate.Reseller{Name: "big"}, &subgate.Reseller{Name: "small"}
	for _, r := range []*subgate.Reseller{big, small} {
		if err := st.CreateReseller(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	bulkLoad(t, db, 6000, big.ID, small.ID)
	scope := subgate.Scope(big.ID)
	storetest.CheckEstimatedTotals(t, st, []storetest.TotalCase{
		{Filter: subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled}, Estimated: true, Within: 0.2},
		{Filter: subgate.SubUserFilter{Scope: scope, Search: "falcon", Sort: subgate.SortUsed}, Estimated: true, Within: 0.2},
		{Filter: subgate.SubUserFilter{Search: "_00"}, Estimated: true}, // every row
		{Filter: subgate.SubUserFilter{Scope: scope}},                   // the counters answer
		{Filter: subgate.SubUserFilter{}},
		{Filter: subgate.SubUserFilter{Scope: subgate.Scope(small.ID), Search: "falcon"}}, // fewer rows than a sample
	})
}
