package storetest

import (
	"context"
	"testing"

	"github.com/subgate/subgate"
)

// TotalCase is a list filter and what its total must be when an estimate
// is asked for.
type TotalCase struct {
	Filter    subgate.SubUserFilter
	Estimated bool    // an estimate, not an exact count
	Within    float64 // the largest error, as a share of the exact count
}

// CheckEstimatedTotals lists each case's filter with an exact and with an
// estimated total and compares them. A store's own tests call it on a data
// set larger than one sample (see storeutil.Sampler).
func CheckEstimatedTotals(t *testing.T, s subgate.Store, cases []TotalCase) {
	t.Helper()
	ctx := context.Background()
	for _, c := range cases {
		exact := c.Filter
		exact.WithTotal = true
		want, err := s.SubUsers(ctx, exact)
		if err != nil {
			t.Fatal(err)
		}
		estimate := exact
		estimate.EstimateTotal = true
		got, err := s.SubUsers(ctx, estimate)
		if err != nil {
			t.Fatal(err)
		}
		off := float64(got.Total-want.Total) / float64(want.Total)
		if want.TotalEstimated || got.TotalEstimated != c.Estimated || off > c.Within || -off > c.Within || want.Total <= 0 {
			t.Errorf("%+v: estimate %d (estimated %t), exact %d (estimated %t)", c.Filter, got.Total, got.TotalEstimated, want.Total, want.TotalEstimated)
		}
	}
}
