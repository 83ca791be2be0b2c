package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/subgate/subgate"
)

type resellerRow struct {
	*subgate.Reseller
	Pools []poolRow
}

type adminView struct {
	Resellers []resellerRow
	Products  []subgate.Product
	Key       string
	// A token just issued, shown this once.
	Token         string
	TokenReseller string
}

// resellers is the admin's page: every reseller with its pools, and forms
// to create one, credit a pool and issue an API token.
func (s *Server) resellers(w http.ResponseWriter, r *http.Request, sess *session) {
	pg := s.newPage(sess, "Resellers", "admin")
	pg.Notice = notice(r)
	s.renderAdmin(w, r, sess, http.StatusOK, pg, adminView{})
}

func (s *Server) renderAdmin(w http.ResponseWriter, r *http.Request, sess *session, status int, pg *page, v adminView) {
	list, err := s.svc.Resellers(r.Context(), sess.principal)
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	for _, res := range list {
		v.Resellers = append(v.Resellers, resellerRow{res, poolRows(res.Pools)})
	}
	v.Products, v.Key = subgate.Products, newFormKey()
	pg.Data = v
	s.render(w, r, status, "admin", pg)
}

// adminFailed re-renders the admin page with a form's error.
func (s *Server) adminFailed(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	if status := statusOf(err); status == http.StatusNotFound || status == http.StatusInternalServerError {
		s.errorPage(w, r, sess, err)
		return
	}
	pg := s.newPage(sess, "Resellers", "admin")
	pg.Form, pg.Error = r.PostForm, subgate.ErrorMessage(err)
	pg.Fields = map[string]string{"form": r.PostForm.Get("form")}
	if f := subgate.ErrorField(err); f != "" {
		pg.Fields[f] = subgate.ErrorMessage(err)
	}
	s.renderAdmin(w, r, sess, statusOf(err), pg, adminView{})
}

func (s *Server) createReseller(w http.ResponseWriter, r *http.Request, sess *session) {
	f := r.PostForm
	c := subgate.ResellerCreate{Name: f.Get("name"), Email: f.Get("email"), Password: f.Get("password")}
	if _, err := s.svc.CreateReseller(r.Context(), sess.principal, c); err != nil {
		s.adminFailed(w, r, sess, err)
		return
	}
	s.redirect(w, r, "/admin?done=reseller")
}

func resellerID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, subgate.NotFound("reseller")
	}
	return id, nil
}

// creditPool credits or debits a reseller's pool by an amount in GB.
func (s *Server) creditPool(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := resellerID(r)
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	f := r.PostForm
	b, err := gbField(f, "amount")
	if err == nil && b == 0 {
		err = subgate.Invalidf("amount", "must be more than 0 GB")
	}
	if err != nil {
		s.adminFailed(w, r, sess, err)
		return
	}
	what := "credited"
	if f.Get("direction") == "debit" {
		b, what = -b, "debited"
	}
	if _, err := s.svc.CreditPool(r.Context(), sess.principal, id, subgate.Product(strings.TrimSpace(f.Get("product"))), b, formKey(f)); err != nil {
		s.adminFailed(w, r, sess, err)
		return
	}
	s.redirect(w, r, "/admin?done="+what)
}

// issueToken issues an API token and shows it on the answer to the POST
// itself: it exists nowhere else to be shown after a redirect.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := resellerID(r)
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	ctx := r.Context()
	res, err := s.svc.Reseller(ctx, sess.principal, id)
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	token, _, err := s.svc.IssueToken(ctx, sess.principal, id, subgate.TokenAPI)
	if err != nil {
		s.adminFailed(w, r, sess, err)
		return
	}
	pg := s.newPage(sess, "Resellers", "admin")
	s.renderAdmin(w, r, sess, http.StatusOK, pg, adminView{Token: token, TokenReseller: res.Name})
}
