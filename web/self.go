package web

import (
	"context"
	"net/http"

	"github.com/subgate/subgate"
)

type selfView struct {
	subUserRow
	Traffic []trafficRow
	Chart   chart
	Range   string
	Proxy   proxyView
}

// selfPage is a sub-user's own, read-only page: its traffic, limits, usage
// and proxy credentials.
func (s *Server) selfPage(w http.ResponseWriter, r *http.Request, sess *session) {
	u := sess.subUser
	v := selfView{subUserRow: s.row(u), Proxy: s.proxyView(r, u)}
	for _, p := range subgate.Products {
		if t := u.Traffic[p]; t.Available != 0 || t.Used != 0 || p == subgate.ProductResidential {
			v.Traffic = append(v.Traffic, trafficRow{p, t.Available, t.Used})
		}
	}
	token := sess.token()
	usage := func(ctx context.Context, q subgate.UsageQuery) ([]subgate.UsagePoint, error) {
		return s.svc.SubUserSelfUsage(ctx, token, q)
	}
	var err error
	if v.Range, v.Chart, err = s.rangeChart(r, usage); err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	pg := s.newPage(sess, u.Username, "self")
	pg.Data = v
	s.render(w, r, http.StatusOK, "self", pg)
}
