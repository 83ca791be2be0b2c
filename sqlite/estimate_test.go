package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/storetest"
)

// A total asked for as an estimate is one, labelled, wherever an exact count
// would read every match, and close to the exact count; where the count is
// cheap it stays exact.
func TestEstimatedTotals(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "estimate.db"))
	scope := subgate.Scope(bulkLoad(t, s, 6000))
	storetest.CheckEstimatedTotals(t, s, []storetest.TotalCase{
		{Filter: subgate.SubUserFilter{Scope: scope, Status: subgate.StatusDisabled}, Estimated: true, Within: 0.2},
		{Filter: subgate.SubUserFilter{Search: "user_"}, Estimated: true},                         // every row
		{Filter: subgate.SubUserFilter{Scope: scope, Search: "vi"}, Estimated: true, Within: 0.5}, // short term: no index
		{Filter: subgate.SubUserFilter{Scope: scope}},                                             // the counters answer
		{Filter: subgate.SubUserFilter{Search: token(17)}},                                        // rare term: its few index hits are counted
	})
}
