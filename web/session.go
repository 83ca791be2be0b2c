package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/loginlimit"
)

// sessionCookie holds the session: "d." and a dashboard token for a
// reseller, "u." and a sub-user session for a sub-user, "a." and an admin
// dashboard session for the admin (never the admin token itself).
const sessionCookie = "subgate_session"

const (
	resellerPrefix = "d."
	subUserPrefix  = "u."
	adminPrefix    = "a."
)

// sessionKind says who is logged in, and so which pages they may see.
type sessionKind int

const (
	kindReseller sessionKind = iota + 1
	kindAdmin
	kindSubUser
)

// session is a logged-in visitor.
type session struct {
	kind      sessionKind
	principal subgate.Principal // zero for a sub-user, who acts as no one
	subUser   *subgate.SubUser  // the sub-user of a sub-user session
	secret    string            // the cookie's value, which CSRF tokens are derived from
	name      string            // shown in the header
	csrf      string
}

// token is the session's token without the cookie's prefix.
func (sess *session) token() string { return sess.secret[2:] }

// pageFunc is a handler that runs for a logged-in visitor.
type pageFunc func(w http.ResponseWriter, r *http.Request, sess *session)

// authed resolves the session cookie; a visitor without a valid session
// goes to the login page. Every POST must carry the session's CSRF token.
func (s *Server) authed(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			if subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
				s.errorPage(w, r, nil, err)
				return
			}
			s.clearCookie(w, r, sessionCookie)
			s.redirect(w, r, "/login")
			return
		}
		if r.Method == http.MethodPost && !s.checkCSRF(r, sess) {
			s.errorPage(w, r, sess, subgate.Errorf(subgate.EFORBIDDEN, "the form has expired or did not come from this dashboard; reload the page and try again"))
			return
		}
		fn(w, r, sess)
	}
}

// reseller is authed for reseller pages; anyone else gets a 404.
func (s *Server) reseller(fn pageFunc) http.HandlerFunc { return s.only(kindReseller, fn) }

// admin is authed for the admin's pages; anyone else gets a 404.
func (s *Server) admin(fn pageFunc) http.HandlerFunc { return s.only(kindAdmin, fn) }

// self is authed for a sub-user's own page; anyone else gets a 404.
func (s *Server) self(fn pageFunc) http.HandlerFunc { return s.only(kindSubUser, fn) }

func (s *Server) only(kind sessionKind, fn pageFunc) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, sess *session) {
		if sess.kind != kind {
			s.errorPage(w, r, sess, subgate.NotFound("page"))
			return
		}
		fn(w, r, sess)
	})
}

func (s *Server) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, subgate.Errorf(subgate.EUNAUTHORIZED, "not logged in")
	}
	ctx := r.Context()
	sess := &session{secret: c.Value, csrf: csrfToken(c.Value)}
	switch {
	case strings.HasPrefix(c.Value, resellerPrefix):
		p, err := s.svc.Authenticate(ctx, sess.token(), subgate.TokenDashboard)
		if err != nil {
			return nil, err
		}
		res, err := s.svc.Reseller(ctx, p, p.ResellerID)
		if err != nil {
			return nil, err
		}
		sess.kind, sess.principal, sess.name = kindReseller, p, res.Name
	case strings.HasPrefix(c.Value, subUserPrefix):
		u, err := s.svc.SubUserSelf(ctx, sess.token())
		if err != nil {
			return nil, err
		}
		sess.kind, sess.subUser, sess.name = kindSubUser, u, u.Username
	case strings.HasPrefix(c.Value, adminPrefix):
		p, err := s.svc.AdminSession(ctx, sess.token())
		if err != nil {
			return nil, err
		}
		sess.kind, sess.principal, sess.name = kindAdmin, p, "admin"
	default:
		return nil, subgate.Errorf(subgate.EUNAUTHORIZED, "not logged in")
	}
	return sess, nil
}

// cookiePath scopes the dashboard's cookies to the dashboard.
func (s *Server) cookiePath() string {
	if s.base == "" {
		return "/"
	}
	return s.base
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: s.cookiePath(), MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: s.cookiePath(), MaxAge: -1,
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteStrictMode,
	})
}

// overTLS reports whether the browser reached us over HTTPS: directly, or
// through a TLS-terminating proxy that says so. Believing a forged header
// only makes the cookie Secure, which can only hurt the forger.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// loginCookie carries the login form's CSRF value (double submit): there is
// no session yet to derive one from.
const loginCookie = "subgate_login"

type loginView struct {
	Mode     string // "reseller", "subuser" or "admin": which form the error belongs to
	Email    string
	Username string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := s.session(r); err == nil {
		s.redirect(w, r, "/")
		return
	}
	s.renderLogin(w, r, http.StatusOK, loginView{}, nil)
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView, err error) {
	token := subgate.NewSecret("")
	s.setCookie(w, r, loginCookie, token, time.Hour)
	pg := &page{Title: "Sign in", Data: v, CSRF: token}
	if err != nil {
		pg.Error = subgate.ErrorMessage(err)
	}
	s.render(w, r, status, "login", pg)
}

// login opens a session: a reseller with email and password, a sub-user
// with username and password, the admin with the admin token. Failed
// attempts are limited per address and per account (see loginlimit).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || !equalStrings(c.Value, r.PostFormValue("csrf")) {
		s.errorPage(w, r, nil, subgate.Errorf(subgate.EFORBIDDEN, "the sign-in form has expired; reload the page and try again"))
		return
	}
	v := loginView{Mode: r.PostFormValue("mode"), Email: strings.TrimSpace(r.PostFormValue("email")),
		Username: strings.TrimSpace(r.PostFormValue("username"))}
	done, ok := s.logins.Attempt(r, loginAccount(v))
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(loginlimit.AccountRefill/time.Second)))
		s.renderLogin(w, r, http.StatusTooManyRequests, v,
			subgate.Errorf(subgate.EUNAUTHORIZED, "too many failed sign-ins; wait a minute and try again"))
		return
	}
	var value, token string
	switch v.Mode {
	case "admin":
		value, err = s.adminLogin(r)
	case "subuser":
		token, _, err = s.svc.SubUserLogin(r.Context(), v.Username, r.PostFormValue("password"))
		value = subUserPrefix + token
	default:
		v.Mode = "reseller"
		token, _, err = s.svc.DashboardLogin(r.Context(), v.Email, r.PostFormValue("password"))
		value = resellerPrefix + token
	}
	done(subgate.ErrorCode(err) == subgate.EUNAUTHORIZED)
	if err != nil {
		status := http.StatusUnauthorized
		if subgate.ErrorCode(err) != subgate.EUNAUTHORIZED {
			s.errorPage(w, r, nil, err)
			return
		}
		s.renderLogin(w, r, status, v, err)
		return
	}
	s.clearCookie(w, r, loginCookie)
	s.setCookie(w, r, sessionCookie, value, subgate.DashboardSessionTTL)
	s.redirect(w, r, "/")
}

// loginAccount is the account a sign-in counts against in the limiter;
// each form has its own names.
func loginAccount(v loginView) string {
	switch v.Mode {
	case "admin":
		return "admin"
	case "subuser":
		return "subuser:" + v.Username
	}
	return "reseller:" + v.Email
}

func (s *Server) adminLogin(r *http.Request) (string, error) {
	secret, err := s.svc.AdminDashboardLogin(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		return "", err
	}
	return adminPrefix + secret, nil
}

// logout ends the session on the server, so the cookie is worthless even
// if it was copied.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	var err error
	switch sess.kind {
	case kindReseller:
		err = s.svc.EndSession(r.Context(), sess.token(), subgate.TokenDashboard)
	case kindSubUser:
		err = s.svc.EndSession(r.Context(), sess.token(), subgate.TokenSubUserDashboard)
	case kindAdmin:
		err = s.svc.EndAdminSession(r.Context(), sess.token())
	}
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	s.clearCookie(w, r, sessionCookie)
	s.redirect(w, r, "/login")
}

// home is the landing page: the admin's resellers, a sub-user's own page
// or a reseller's overview.
func (s *Server) home(w http.ResponseWriter, r *http.Request, sess *session) {
	switch sess.kind {
	case kindAdmin:
		s.redirect(w, r, "/admin")
	case kindSubUser:
		s.redirect(w, r, "/me")
	default:
		s.overview(w, r, sess)
	}
}
