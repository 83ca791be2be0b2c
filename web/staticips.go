package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/subgate/subgate"
)

// staticIPsView is a sub-user's dedicated static IPs and the form to
// allocate more.
type staticIPsView struct {
	Supported bool // false when the store keeps no static IP inventory
	IPs       []*subgate.StaticIP
	Key       string // the allocation form's own idempotency key
	Form      map[string]string
}

// staticIPsOf lists a sub-user's static IPs for its page.
func (s *Server) staticIPsOf(r *http.Request, sess *session, u *subgate.SubUser, pg *page) (staticIPsView, error) {
	v := staticIPsView{Key: newFormKey(), Form: map[string]string{"country_code": "", "access_point": "", "ips": "1", "bandwidth": ""}}
	if pg.Form != nil && pg.Form.Get("form") == "static-ips" {
		for k := range v.Form {
			v.Form[k] = pg.Form.Get(k)
		}
		// A failed allocation keeps its key: resending it cannot allocate twice.
		v.Key = formKey(pg.Form)
	}
	ips, err := s.svc.SubUserStaticIPs(r.Context(), sess.principal, itoa(u.ID))
	if subgate.ErrorCode(err) == subgate.EINVALID {
		return v, nil // a store without an inventory: nothing to show
	}
	if err != nil {
		return v, err
	}
	v.Supported, v.IPs = true, ips
	return v, nil
}

// allocateStaticIPs dedicates N free IPs of a country (and access point) to
// the sub-user and gives it static bandwidth from the pool, both or neither.
func (s *Server) allocateStaticIPs(w http.ResponseWriter, r *http.Request, sess *session) {
	f := r.PostForm
	count, err := countField(f, "ips")
	if err == nil && count > subgate.MaxStaticIPsPerAllocation {
		count = subgate.MaxStaticIPsPerAllocation + 1 // refused by the domain, without overflowing int
	}
	var bandwidth int64
	if err == nil {
		bandwidth, err = gbField(f, "bandwidth")
	}
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	a := subgate.StaticIPAllocation{Country: f.Get("country_code"), AccessPoint: f.Get("access_point"), Count: int(count)}
	_, u, err := s.svc.AllocateStaticIPs(r.Context(), sess.principal, r.PathValue("ref"), a, bandwidth, formKey(f))
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	s.done(w, r, u, "allocated")
}

// releaseStaticIP frees one of the sub-user's static IPs.
func (s *Server) releaseStaticIP(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := strconv.ParseInt(strings.TrimSpace(r.PathValue("id")), 10, 64)
	if err != nil || id <= 0 {
		s.errorPage(w, r, sess, subgate.NotFound("static IP"))
		return
	}
	u, err := s.svc.SubUser(r.Context(), sess.principal, r.PathValue("ref"))
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	n, err := s.svc.ReleaseStaticIPs(r.Context(), sess.principal, itoa(u.ID), []int64{id})
	if err == nil && n == 0 {
		err = subgate.NotFound("static IP") // not one of this sub-user's
	}
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	s.done(w, r, u, "released")
}
