package netnut

import (
	"net/http"
	"strings"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// authedFunc is an endpoint that runs for an authenticated reseller.
type authedFunc func(w http.ResponseWriter, r *http.Request, p subgate.Principal)

// tokenOf reads NetNut's Authorization header: the token as-is. A "Bearer "
// prefix is tolerated because generic HTTP clients like to add one.
func tokenOf(r *http.Request) string {
	tok := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	return tok
}

func (h *handler) principal(r *http.Request) (subgate.Principal, error) {
	return h.svc.Authenticate(r.Context(), tokenOf(r), subgate.TokenNetNut)
}

func (h *handler) authed(fn authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err != nil {
			h.failWith(w, r, err, nil)
			return
		}
		fn(w, r, p)
	}
}

type loginRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

type loginResponse struct {
	Success bool   `json:"success"`
	Token   string `json:"token"`
}

// login exchanges a reseller's email and password for a 24 h NetNut token.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	// Here email and password are the reseller's own, not a sub-user's.
	own := map[string]string{"email": "email", "password": "password"}
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, own)
		return
	}
	if err := required(map[string]*string{"email": req.Email, "password": req.Password}, "email", "password"); err != nil {
		h.failWith(w, r, err, own)
		return
	}
	done, ok := h.logins.Attempt(r, *req.Email)
	if !ok {
		tooManyLogins(w)
		return
	}
	reseller, err := h.svc.Login(r.Context(), *req.Email, *req.Password)
	done(subgate.ErrorCode(err) == subgate.EUNAUTHORIZED)
	if err != nil {
		h.failWith(w, r, err, own)
		return
	}
	token, _, err := h.svc.IssueToken(r.Context(), subgate.Principal{ResellerID: reseller.ID}, reseller.ID, subgate.TokenNetNut)
	if err != nil {
		h.failWith(w, r, err, own)
		return
	}
	jsonhttp.Write(w, http.StatusOK, loginResponse{Success: true, Token: token})
}

// authenticated tells whether the Authorization token is still valid.
func (h *handler) authenticated(w http.ResponseWriter, r *http.Request) {
	if _, err := h.principal(r); err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	jsonhttp.Write(w, http.StatusOK, messageResponse{Success: true, Message: "token is valid"})
}

// required checks that the named string fields are present and not blank,
// in the order given so the first missing one is reported.
func required(fields map[string]*string, order ...string) error {
	for _, name := range order {
		if v := fields[name]; v == nil || strings.TrimSpace(*v) == "" {
			return subgate.Invalidf(name, "is required")
		}
	}
	return nil
}
