package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/httpstatus"
)

// page is what every template gets.
type page struct {
	Title  string
	Nav    string // the menu entry to highlight
	Base   string
	User   string // who is logged in; "" on the sign-in page
	Admin  bool
	Self   bool // a sub-user looking at its own page
	CSRF   string
	Notice string            // a success message after a redirect
	Error  string            // a form-level error
	Fields map[string]string // field name → message, for a bad form
	Form   url.Values        // what the visitor typed, to fill a bad form again
	Data   any
}

// pageNames are the templates in templates/, each rendered inside layout.html.
var pageNames = []string{"login", "error", "overview", "subusers", "subuser_new", "subuser", "admin", "self", "ledger"}

func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// newPage starts a page for a logged-in visitor.
func (s *Server) newPage(sess *session, title, nav string) *page {
	pg := &page{Title: title, Nav: nav}
	if sess != nil {
		pg.User, pg.Admin, pg.Self, pg.CSRF = sess.name, sess.kind == kindAdmin, sess.kind == kindSubUser, sess.csrf
	}
	return pg
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, pg *page) {
	pg.Base = s.base
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", pg); err != nil {
		s.logger.Error("dashboard template failed", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// formError re-renders a form page with the domain's message; the field it
// names is highlighted.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, sess *session, name string, pg *page, err error) {
	if status := statusOf(err); status == http.StatusInternalServerError || status == http.StatusNotFound {
		s.errorPage(w, r, sess, err)
		return
	}
	pg.Form = r.PostForm
	pg.Fields = fieldErrors(err)
	pg.Error = subgate.ErrorMessage(err)
	s.render(w, r, statusOf(err), name, pg)
}

// fieldErrors maps the input an error is about to its message. An error
// about one entry of a list ("allow_ips[2]") is shown at the list's input.
func fieldErrors(err error) map[string]string {
	m := map[string]string{}
	f := subgate.ErrorField(err)
	if f == "" {
		return m
	}
	m[f] = subgate.ErrorMessage(err)
	if list, _, ok := strings.Cut(f, "["); ok {
		m[list] = m[f]
	}
	return m
}

type errorView struct {
	Status  int
	Message string
}

// errorPage answers an error with a page whose status follows its code.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		s.logger.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	pg := s.newPage(sess, http.StatusText(status), "")
	pg.Data = errorView{Status: status, Message: subgate.ErrorMessage(err)}
	s.render(w, r, status, "error", pg)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	sess, _ := s.session(r)
	s.errorPage(w, r, sess, subgate.NotFound("page"))
}

func statusOf(err error) int { return httpstatus.Of(subgate.ErrorCode(err)) }
