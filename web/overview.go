package web

import (
	"net/http"

	"github.com/subgate/subgate"
)

type poolRow struct {
	Product subgate.Product
	Bytes   int64
}

type overviewView struct {
	Pools    []poolRow
	Count    int64
	Active   int64
	Disabled int64
	// Estimated: Active and Disabled are estimated from a sample, as an
	// exact count of a status reads every sub-user of it.
	Estimated bool
	Chart     chart
	Top       []subUserRow // the sub-users that used the most
}

// topSubUsers is how many heavy users the overview lists.
const topSubUsers = 5

// overview is a reseller's landing page: pools, sub-user counts and the
// last 7 days of usage.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	res, count, err := s.svc.Me(ctx, sess.principal)
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	v := overviewView{Pools: poolRows(res.Pools), Count: count}
	for _, st := range []struct {
		status subgate.Status
		n      *int64
	}{{subgate.StatusActive, &v.Active}, {subgate.StatusDisabled, &v.Disabled}} {
		page, err := s.svc.SubUsers(ctx, sess.principal, subgate.SubUserFilter{Status: st.status, Limit: 1, WithTotal: true, EstimateTotal: true})
		if err != nil {
			s.errorPage(w, r, sess, err)
			return
		}
		*st.n = page.Total
		v.Estimated = v.Estimated || page.TotalEstimated
	}
	top, err := s.svc.SubUsers(ctx, sess.principal, subgate.SubUserFilter{Sort: subgate.SortUsed, Desc: true, Limit: topSubUsers})
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	for _, u := range top.Items {
		if u.TotalUsed() > 0 {
			v.Top = append(v.Top, s.row(u))
		}
	}
	if v.Chart, err = s.usageChart(ctx, s.usageOf(sess.principal, nil), subgate.GranularityDay, 7); err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	pg := s.newPage(sess, "Overview", "overview")
	pg.Data = v
	s.render(w, r, http.StatusOK, "overview", pg)
}

// poolRows lists a reseller's pools in product order; the any-product pool
// only when it holds something, since few operators sell it.
func poolRows(pools map[subgate.Product]int64) []poolRow {
	var out []poolRow
	for _, p := range subgate.Products {
		if p == subgate.ProductAny && pools[p] == 0 {
			continue
		}
		out = append(out, poolRow{Product: p, Bytes: pools[p]})
	}
	return out
}
