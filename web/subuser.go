package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/subgate/subgate"
)

type subUserView struct {
	subUserRow
	Traffic  []trafficRow // every product, to give and take
	Products []subgate.Product
	Chart    chart
	Range    string // "day" (hourly) or "month" (daily)
	Proxy    proxyView
	Key      string
	Settings map[string]string // the settings form's values
	// CustomerLogin tells whether the sub-user's customer can sign in.
	CustomerLogin bool
	Ledger        []*subgate.LedgerEntry // the latest movements
	StaticIPs     staticIPsView
}

// ledgerRows is how many of a sub-user's latest movements its page shows.
const ledgerRows = 10

// proxyView is how a customer connects with this sub-user.
type proxyView struct {
	Host      string // "" when no gateway runs
	HTTPPort  string // "" without an HTTP port
	SOCKSPort string // "" without a SOCKS5 port
	Curl      string
	Socks     string
	Enabled   bool
}

func (s *Server) subUser(w http.ResponseWriter, r *http.Request, sess *session) {
	u, err := s.svc.SubUser(r.Context(), sess.principal, r.PathValue("ref"))
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	pg := s.newPage(sess, u.Username, "subusers")
	pg.Notice = notice(r)
	s.renderSubUser(w, r, sess, u, http.StatusOK, pg)
}

// renderSubUser draws the detail page, also to show a failed form on it.
func (s *Server) renderSubUser(w http.ResponseWriter, r *http.Request, sess *session, u *subgate.SubUser, status int, pg *page) {
	v := subUserView{subUserRow: s.row(u), Products: subgate.Products, Key: newFormKey(),
		Proxy: s.proxyView(r, u)}
	v.Settings, v.CustomerLogin = settingsForm(u, pg), u.DashboardPasswordHash != ""
	for _, p := range subgate.Products {
		v.Traffic = append(v.Traffic, trafficRow{p, u.Traffic[p].Available, u.Traffic[p].Used})
	}
	var err error
	if v.Range, v.Chart, err = s.rangeChart(r, s.usageOf(sess.principal, []int64{u.ID})); err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	if v.Ledger, err = s.svc.Ledger(r.Context(), sess.principal, subgate.LedgerFilter{SubUserID: u.ID, Limit: ledgerRows}); err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	if v.StaticIPs, err = s.staticIPsOf(r, sess, u, pg); err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	pg.Data = v
	s.render(w, r, status, "subuser", pg)
}

// actionFailed re-renders the detail page with the form's error; nothing
// was changed.
func (s *Server) actionFailed(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	if status := statusOf(err); status == http.StatusNotFound || status == http.StatusInternalServerError {
		s.errorPage(w, r, sess, err)
		return
	}
	u, lerr := s.svc.SubUser(r.Context(), sess.principal, r.PathValue("ref"))
	if lerr != nil {
		s.errorPage(w, r, sess, lerr)
		return
	}
	pg := s.newPage(sess, u.Username, "subusers")
	pg.Form = r.PostForm
	pg.Error = subgate.ErrorMessage(err)
	pg.Fields = fieldErrors(err)
	pg.Fields["form"] = r.PostForm.Get("form")
	s.renderSubUser(w, r, sess, u, statusOf(err), pg)
}

func (s *Server) done(w http.ResponseWriter, r *http.Request, u *subgate.SubUser, what string) {
	s.redirect(w, r, "/subusers/"+itoa(u.ID)+"?done="+what)
}

// moveTraffic gives traffic from the pool or takes it back.
func (s *Server) moveTraffic(w http.ResponseWriter, r *http.Request, sess *session) {
	f := r.PostForm
	product, err := subgate.ParseProduct(f.Get("product"))
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	b, err := gbField(f, "amount")
	if err == nil && b == 0 {
		err = subgate.Invalidf("amount", "must be more than 0 GB")
	}
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	move, what := s.svc.Give, "given"
	if f.Get("direction") == "take" {
		move, what = s.svc.Take, "taken"
	}
	u, err := move(r.Context(), sess.principal, r.PathValue("ref"), product, b, formKey(f))
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	s.done(w, r, u, what)
}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	st, err := subgate.ParseStatus("status", r.PostForm.Get("status"))
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	u, err := s.svc.SetStatus(r.Context(), sess.principal, r.PathValue("ref"), st)
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	what := "enabled"
	if st != subgate.StatusActive {
		what = "disabled"
	}
	s.done(w, r, u, what)
}

// setPassword sets the typed proxy password, or a generated one.
func (s *Server) setPassword(w http.ResponseWriter, r *http.Request, sess *session) {
	pw := strings.TrimSpace(r.PostForm.Get("password"))
	if pw == "" {
		pw = subgate.NewProxyPassword()
	}
	u, err := s.svc.SetPassword(r.Context(), sess.principal, r.PathValue("ref"), pw)
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	s.done(w, r, u, "password")
}

// updateSettings saves name, note, limits, expiry and the IP allow-list.
func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, f := r.Context(), r.PostForm
	cur, err := s.svc.SubUser(ctx, sess.principal, r.PathValue("ref"))
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	name, note := strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("note"))
	upd := subgate.SubUserUpdate{Name: &name, Note: &note}
	limits, err := limitsFields(f)
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	upd.Limits = &limits
	allow, err := allowIPsField(f)
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	upd.AllowIPs = &allow
	exp, err := expiryField(f)
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	upd.ExpiresAt = &exp
	u, err := s.svc.UpdateSubUser(ctx, sess.principal, itoa(cur.ID), upd)
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	s.done(w, r, u, "settings")
}

// setDashboardLogin sets the email and password the sub-user's customer
// signs in to its own read-only page with; an empty password keeps the
// current one.
func (s *Server) setDashboardLogin(w http.ResponseWriter, r *http.Request, sess *session) {
	f := r.PostForm
	email := f.Get("email")
	upd := subgate.SubUserUpdate{Email: &email}
	if pw := f.Get("dashboard_password"); pw != "" {
		upd.DashboardPassword = &pw
	}
	u, err := s.svc.UpdateSubUser(r.Context(), sess.principal, r.PathValue("ref"), upd)
	if err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	s.done(w, r, u, "login")
}

// deleteSubUser deletes after the username was typed again to confirm.
func (s *Server) deleteSubUser(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	u, err := s.svc.SubUser(ctx, sess.principal, r.PathValue("ref"))
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	if strings.TrimSpace(r.PostForm.Get("confirm")) != u.Username {
		s.actionFailed(w, r, sess, subgate.Invalidf("confirm", "must be the sub-user's username, %s, to delete it", u.Username))
		return
	}
	if err := s.svc.DeleteSubUser(ctx, sess.principal, itoa(u.ID)); err != nil {
		s.actionFailed(w, r, sess, err)
		return
	}
	s.redirect(w, r, "/subusers?done=deleted")
}

// proxyView is how a customer reaches the gateway: its public address, the
// host the dashboard was reached at filling in a host left open, and ready
// curl lines with the credentials percent-encoded.
func (s *Server) proxyView(r *http.Request, u *subgate.SubUser) proxyView {
	a := s.svc.PublicGateway.ForHost(r.Host)
	if !a.Enabled() {
		return proxyView{}
	}
	v := proxyView{Host: a.Host, Enabled: true}
	if a.HTTPPort != 0 {
		v.HTTPPort = strconv.Itoa(a.HTTPPort)
		v.Curl = "curl -x " + shellQuote(a.ProxyURL(subgate.ProxyHTTP, u.Username, u.Password)) + " https://example.com/"
	}
	if a.SOCKSPort != 0 {
		v.SOCKSPort = strconv.Itoa(a.SOCKSPort)
		v.Socks = "curl -x " + shellQuote(a.ProxyURL(subgate.ProxySOCKS5, u.Username, u.Password)) + " https://example.com/"
	}
	return v
}

// shellQuote quotes s for a POSIX shell (proxy passwords may hold $, & and
// other characters a shell would act on).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// settingsForm fills the settings form from the sub-user, or with what was
// typed when that form just failed.
func settingsForm(u *subgate.SubUser, pg *page) map[string]string {
	m := map[string]string{
		"name": u.Name, "note": u.Note, "expires_at": expiryInput(u.ExpiresAt),
		"limits.daily": gbInput(u.Limits.Daily), "limits.monthly": gbInput(u.Limits.Monthly),
		"limits.lifetime": gbInput(u.Limits.Lifetime), "limits.usage_cap": gbInput(u.Limits.UsageCap),
		"limits.ip_usage_cap": countInput(u.Limits.IPUsageCap), "limits.max_concurrency": countInput(u.Limits.MaxConcurrency),
		"allow_ips": allowIPsInput(u.AllowIPs),
	}
	if pg.Form != nil && pg.Form.Get("form") == "settings" {
		for k := range m {
			m[k] = pg.Form.Get(k)
		}
	}
	return m
}

// rangeChart is a sub-user's chart for the range the page asks for: hourly
// over the last day, or daily over the last 30 days.
func (s *Server) rangeChart(r *http.Request, usage usageFunc) (string, chart, error) {
	if r.URL.Query().Get("range") == "month" {
		c, err := s.usageChart(r.Context(), usage, subgate.GranularityDay, 30)
		return "month", c, err
	}
	c, err := s.usageChart(r.Context(), usage, subgate.GranularityHour, 24)
	return "day", c, err
}
