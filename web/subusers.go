package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/subgate/subgate"
)

const perPage = 25

// trafficRow is one product's balance of a sub-user.
type trafficRow struct {
	Product   subgate.Product
	Available int64
	Used      int64
}

// subUserRow is a sub-user with what the pages derive from it.
type subUserRow struct {
	*subgate.SubUser
	Limited bool
	Expired bool
	Traffic []trafficRow // products it has or had traffic of
	// Remaining is, for a shared sub-user, what it may still use per
	// product (the smallest of the pool and its limits), where not zero.
	Remaining []trafficRow
}

func (s *Server) row(u *subgate.SubUser) subUserRow {
	now := s.svc.Now()
	row := subUserRow{SubUser: u, Limited: u.Limited(now), Expired: u.Expired(now)}
	for _, p := range subgate.Products {
		if t := u.Traffic[p]; t.Available != 0 || t.Used != 0 {
			row.Traffic = append(row.Traffic, trafficRow{p, t.Available, t.Used})
		}
	}
	if u.Shared() {
		left := u.Remaining(u.Usage.At(s.svc.Windows, now))
		for _, p := range subgate.Products {
			if left[p] > 0 {
				row.Remaining = append(row.Remaining, trafficRow{Product: p, Available: left[p]})
			}
		}
	}
	return row
}

// listQuery is the list's state, kept in the URL. Pages follow a cursor
// (After), so a page costs the same however deep it is and no page counts
// every match.
type listQuery struct {
	Search, Status, Sort, Order string
	After                       string
}

// listQueryOf reads the list's state from a URL's parameters.
func listQueryOf(q url.Values) listQuery {
	return listQuery{Search: strings.TrimSpace(q.Get("search")), Status: q.Get("status"), Sort: q.Get("sort"), Order: q.Get("order"), After: q.Get("after")}
}

// values is the list's state as URL parameters, the empty ones left out.
func (q listQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"search": q.Search, "status": q.Status, "sort": q.Sort, "order": q.Order, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func (q listQuery) url(base string, changes func(*listQuery)) string {
	if changes != nil {
		changes(&q)
	}
	v := q.values()
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}

type sortLink struct {
	Label, URL string
	Arrow      string // ↑ or ↓ on the column in use
}

type subUsersView struct {
	Query listQuery
	Rows  []subUserRow
	// Total counts the matches of a filter from a sample (TotalEstimated)
	// where an exact count would read every match.
	Total          int64
	TotalEstimated bool
	FirstURL       string // back to the first page, from a later one
	NextURL        string
	Columns        map[string]sortLink
	StatusOptions  []string
	// BulkURL is where the selection form posts, keeping the list's state;
	// Selected are the ids ticked in a selection that just failed.
	BulkURL  string
	Selected map[string]bool
	// BulkActions is the selection form's action menu.
	BulkActions []bulkAction
}

func (s *Server) subUsers(w http.ResponseWriter, r *http.Request, sess *session) {
	pg := s.newPage(sess, "Sub-users", "subusers")
	pg.Notice = notice(r)
	s.renderSubUsers(w, r, sess, listQueryOf(r.URL.Query()), http.StatusOK, pg)
}

// renderSubUsers draws a page of the list, also to show a failed form on it.
func (s *Server) renderSubUsers(w http.ResponseWriter, r *http.Request, sess *session, lq listQuery, status int, pg *page) {
	f := subgate.SubUserFilter{
		Search: lq.Search, Status: subgate.Status(lq.Status), Sort: subgate.SubUserSort(lq.Sort),
		Desc: lq.Order == "desc", Limit: perPage, After: lq.After, WithTotal: true, EstimateTotal: true,
	}
	page, err := s.svc.SubUsers(r.Context(), sess.principal, f)
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	base := s.path("/subusers")
	v := subUsersView{Query: lq, Total: page.Total, TotalEstimated: page.TotalEstimated,
		StatusOptions: []string{"active", "disabled", "blocked"}, Columns: map[string]sortLink{},
		BulkURL: lq.url(s.path("/subusers/bulk"), nil), Selected: map[string]bool{}, BulkActions: bulkActions}
	for _, id := range pg.Form["id"] {
		v.Selected[id] = true
	}
	for _, u := range page.Items {
		v.Rows = append(v.Rows, s.row(u))
	}
	if lq.After != "" {
		v.FirstURL = lq.url(base, func(q *listQuery) { q.After = "" })
	}
	if page.Next != "" {
		v.NextURL = lq.url(base, func(q *listQuery) { q.After = page.Next })
	}
	for col, label := range map[string]string{"id": "#", "username": "Username", "used": "Used", "available": "Available", "created_at": "Created"} {
		link := sortLink{Label: label}
		current := lq.Sort == col || (lq.Sort == "" && col == "id")
		order := "asc"
		if col == "used" || col == "available" || col == "created_at" {
			order = "desc" // the biggest and newest first is the useful start
		}
		if current {
			link.Arrow = "↑"
			order = "desc"
			if lq.Order == "desc" {
				link.Arrow, order = "↓", "asc"
			}
		}
		link.URL = lq.url(base, func(q *listQuery) { q.Sort, q.Order, q.After = col, order, "" })
		v.Columns[col] = link
	}
	pg.Data = v
	s.render(w, r, status, "subusers", pg)
}

type newSubUserView struct {
	Products []subgate.Product
	Key      string
}

func (s *Server) newSubUser(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderNewSubUser(w, r, sess, http.StatusOK, nil)
}

func (s *Server) renderNewSubUser(w http.ResponseWriter, r *http.Request, sess *session, status int, err error) {
	pg := s.newPage(sess, "New sub-user", "subusers")
	key := newFormKey()
	if r.Method == http.MethodPost {
		key = formKey(r.PostForm)
	}
	pg.Data = newSubUserView{Products: subgate.Products, Key: key}
	if err != nil {
		s.formError(w, r, sess, "subuser_new", pg, err)
		return
	}
	s.render(w, r, status, "subuser_new", pg)
}

// createSubUser creates a sub-user from the form and shows it.
func (s *Server) createSubUser(w http.ResponseWriter, r *http.Request, sess *session) {
	c, err := subUserCreateForm(r.PostForm)
	if err == nil {
		var u *subgate.SubUser
		u, err = s.svc.CreateSubUser(r.Context(), sess.principal, 0, c, formKey(r.PostForm))
		if err == nil {
			s.redirect(w, r, "/subusers/"+strconv.FormatInt(u.ID, 10)+"?done=created")
			return
		}
	}
	s.renderNewSubUser(w, r, sess, 0, err)
}

func subUserCreateForm(f url.Values) (subgate.SubUserCreate, error) {
	c := subgate.SubUserCreate{
		Username: strings.TrimSpace(f.Get("username")), Password: strings.TrimSpace(f.Get("password")),
		Name: strings.TrimSpace(f.Get("name")), Note: strings.TrimSpace(f.Get("note")),
		Email: f.Get("email"), DashboardPassword: f.Get("dashboard_password"),
		Funding: subgate.Funding(f.Get("funding")), Traffic: map[subgate.Product]int64{},
	}
	var err error
	for _, p := range subgate.Products {
		b, err := gbField(f, "traffic."+string(p))
		if err != nil {
			return c, err
		}
		if b > 0 {
			c.Traffic[p] = b
		}
	}
	if c.Limits, err = limitsFields(f); err != nil {
		return c, err
	}
	if c.AllowIPs, err = allowIPsField(f); err != nil {
		return c, err
	}
	if c.ExpiresAt, err = expiryField(f); err != nil {
		return c, err
	}
	return c, nil
}

// notices are the success messages a redirect may ask for; only these
// fixed texts are ever shown, never text from the URL.
var notices = map[string]string{
	"created": "Sub-user created.", "given": "Traffic given.", "taken": "Traffic taken back.",
	"enabled": "Sub-user enabled.", "disabled": "Sub-user disabled.", "password": "Proxy password changed.",
	"settings": "Settings saved.", "login": "Customer sign-in saved.", "deleted": "Sub-user deleted; its unused traffic went back to your pool.",
	"allocated": "Static IPs allocated.", "released": "Static IP released.",
	"reseller": "Reseller created.", "credited": "Pool credited.", "debited": "Pool debited.",
}

// bulkNotices report a bulk action with the number of sub-users it
// changed, the only other thing read from the URL.
var bulkNotices = map[string]string{
	"bulk-disabled": "%s disabled.", "bulk-enabled": "%s enabled.",
	"bulk-expiry": "Expiry set on %s.", "bulk-expiry-cleared": "Expiry removed from %s.",
	"bulk-note": "Note set on %s.", "bulk-note-cleared": "Note cleared on %s.",
}

// bulkAction is one choice of the list's action menu.
type bulkAction struct{ Value, Label string }

// bulkActions are the list's action menu, in the order shown.
var bulkActions = []bulkAction{
	{"disable", "Disable"}, {"enable", "Enable"}, {"expiry", "Set expiry"}, {"note", "Set note"},
}

func notice(r *http.Request) string {
	q := r.URL.Query()
	format, ok := bulkNotices[q.Get("done")]
	if !ok {
		return notices[q.Get("done")]
	}
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n < 1 {
		return ""
	}
	what := strconv.Itoa(n) + " sub-users"
	if n == 1 {
		what = "1 sub-user"
	}
	return fmt.Sprintf(format, what)
}
