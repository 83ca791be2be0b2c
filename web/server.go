// Package web is subgate's dashboard: server-rendered HTML pages for
// resellers (overview, sub-users, traffic) and the admin (resellers, pools,
// tokens). Like the native API it is an edge: every action is a Service
// call, and business rules stay in the Service.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/loginlimit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a dashboard.
type Options struct {
	// Base is the path the dashboard is mounted under, e.g. "/dashboard";
	// requests arrive with it stripped, links and cookies carry it.
	Base   string
	Logger *slog.Logger
}

// Server serves the dashboard.
type Server struct {
	svc    *subgate.Service
	base   string
	logger *slog.Logger
	pages  map[string]*template.Template
	logins *loginlimit.Limiter
	mux    *http.ServeMux
}

// New builds a dashboard over a service.
func New(svc *subgate.Service, o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		svc: svc, base: "/" + strings.Trim(o.Base, "/"), logger: o.Logger,
		pages: pages, logins: loginlimit.New(), mux: http.NewServeMux(),
	}
	if s.base == "/" {
		s.base = ""
	}
	s.routes()
	return s, nil
}

// Handler returns the dashboard's handler, to be mounted at Base with Base
// stripped from the path.
func (s *Server) Handler() http.Handler {
	return securityHeaders(s.recoverPanics(limitForms(s.mux)))
}

// maxFormBytes bounds a form post; the dashboard's forms are small.
const maxFormBytes = 64 << 10

func limitForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) routes() {
	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))

	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.authed(s.logout))

	s.mux.HandleFunc("GET /{$}", s.authed(s.home))
	s.mux.HandleFunc("GET /subusers", s.reseller(s.subUsers))
	s.mux.HandleFunc("GET /subusers/new", s.reseller(s.newSubUser))
	s.mux.HandleFunc("POST /subusers", s.reseller(s.createSubUser))
	s.mux.HandleFunc("POST /subusers/bulk", s.reseller(s.updateSelected))
	s.mux.HandleFunc("GET /subusers/{ref}", s.reseller(s.subUser))
	s.mux.HandleFunc("POST /subusers/{ref}/traffic", s.reseller(s.moveTraffic))
	s.mux.HandleFunc("POST /subusers/{ref}/status", s.reseller(s.setStatus))
	s.mux.HandleFunc("POST /subusers/{ref}/password", s.reseller(s.setPassword))
	s.mux.HandleFunc("POST /subusers/{ref}/settings", s.reseller(s.updateSettings))
	s.mux.HandleFunc("POST /subusers/{ref}/dashboard-login", s.reseller(s.setDashboardLogin))
	s.mux.HandleFunc("POST /subusers/{ref}/delete", s.reseller(s.deleteSubUser))
	s.mux.HandleFunc("POST /subusers/{ref}/static-ips", s.reseller(s.allocateStaticIPs))
	s.mux.HandleFunc("POST /subusers/{ref}/static-ips/{id}/release", s.reseller(s.releaseStaticIP))
	s.mux.HandleFunc("GET /ledger", s.reseller(s.ledger))

	s.mux.HandleFunc("GET /me", s.self(s.selfPage))

	s.mux.HandleFunc("GET /admin", s.admin(s.resellers))
	s.mux.HandleFunc("POST /admin/resellers", s.admin(s.createReseller))
	s.mux.HandleFunc("POST /admin/resellers/{id}/credit", s.admin(s.creditPool))
	s.mux.HandleFunc("POST /admin/resellers/{id}/tokens", s.admin(s.issueToken))

	s.mux.HandleFunc("/", s.notFound)
}

// path makes an absolute URL path of a dashboard path.
func (s *Server) path(p string) string { return s.base + p }

// redirect answers a successful POST (post/redirect/get) or sends a visitor
// elsewhere.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, p string) {
	http.Redirect(w, r, s.path(p), http.StatusSeeOther)
}

// securityHeaders keeps pages out of frames and caches and allows only the
// dashboard's own stylesheet and script.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics answers a panicking handler with the error page.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.Error("dashboard handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.errorPage(w, r, nil, subgate.Errorf(subgate.EINTERNAL, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// RedirectRoot sends "/" to the dashboard and everything else to next.
func RedirectRoot(next http.Handler, base string) http.Handler {
	target := "/" + strings.Trim(base, "/") + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}
