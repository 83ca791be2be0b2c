package netnut

import (
	"net/http"
	"strconv"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// maxListPages bounds the pages the unpaginated NetNut list walks (1000 each).
const maxListPages = 1000

// list answers every sub-user of the caller, optionally only active
// (is_active=true) or only inactive (is_active=false) ones.
func (h *handler) list(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	f := subgate.SubUserFilter{Limit: 1000}
	var onlyInactive bool
	if v := r.URL.Query().Get("is_active"); v != "" {
		active, err := strconv.ParseBool(v)
		if err != nil {
			h.failWith(w, r, subgate.Invalidf("is_active", "must be true or false"), nil)
			return
		}
		if active {
			f.Status = subgate.StatusActive
		}
		onlyInactive = !active
	}
	var all []*subgate.SubUser
	for range maxListPages {
		page, err := h.svc.SubUsers(r.Context(), p, f)
		if err != nil {
			h.failWith(w, r, err, nil)
			return
		}
		for _, u := range page.Items {
			if !onlyInactive || u.Status != subgate.StatusActive {
				all = append(all, u)
			}
		}
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	jsonhttp.Write(w, http.StatusOK, []dataResponse{{Success: true, Data: itemsOf(all)}})
}

// get answers one sub-user by numeric id or hash.
func (h *handler) get(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	u, err := h.svc.SubUser(r.Context(), p, r.PathValue("id"))
	if err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	jsonhttp.Write(w, http.StatusOK, []dataResponse{{Success: true, Data: []subUserItem{itemOf(u)}}})
}

type createRequest struct {
	DashboardEmail *string          `json:"customer_dashboard_email"`
	Name           *string          `json:"customer_name"`
	DashboardPwd   *string          `json:"customer_dashboard_pwd"`
	LoginName      *string          `json:"customer_login_name"`
	LoginPwd       *string          `json:"customer_login_pwd"`
	PrivatePool    *jsonhttp.Number `json:"snkrs_private_pool"`
}

// create adds a sub-user with dashboard and proxy credentials and no traffic
// (NetNut gives traffic through allocate).
func (h *handler) create(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req createRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	err := required(map[string]*string{
		"customer_dashboard_email": req.DashboardEmail, "customer_name": req.Name,
		"customer_dashboard_pwd": req.DashboardPwd, "customer_login_name": req.LoginName,
		"customer_login_pwd": req.LoginPwd,
	}, "customer_dashboard_email", "customer_name", "customer_dashboard_pwd", "customer_login_name", "customer_login_pwd")
	if err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	c := subgate.SubUserCreate{
		Username: *req.LoginName, Password: *req.LoginPwd, Name: *req.Name,
		Email: *req.DashboardEmail, DashboardPassword: *req.DashboardPwd,
	}
	if req.PrivatePool != nil {
		c.PrivatePool = float64(*req.PrivatePool)
	}
	u, err := h.svc.CreateSubUser(r.Context(), p, 0, c, r.Header.Get("Idempotency-Key"))
	if err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	jsonhttp.Write(w, http.StatusOK, dataResponse{Success: true, Data: []subUserItem{itemOf(u)}})
}

type passwordRequest struct {
	NewLoginPwd *string `json:"new_login_pwd"`
}

// password sets the proxy password.
func (h *handler) password(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req passwordRequest
	rename := map[string]string{"password": "new_login_pwd"}
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, rename)
		return
	}
	if err := required(map[string]*string{"new_login_pwd": req.NewLoginPwd}, "new_login_pwd"); err != nil {
		h.failWith(w, r, err, rename)
		return
	}
	u, err := h.svc.SetPassword(r.Context(), p, r.PathValue("id"), *req.NewLoginPwd)
	if err != nil {
		h.failWith(w, r, err, rename)
		return
	}
	jsonhttp.Write(w, http.StatusOK, dataResponse{Success: true, Data: []subUserItem{itemOf(u)}})
}

type disabledRequest struct {
	Disabled *bool `json:"disabled"`
}

// disabled disables a sub-user. NetNut documents no body; an optional
// {"disabled": false} enables it again, since NetNut offers no other way back.
func (h *handler) disabled(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req disabledRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	status, message := subgate.StatusDisabled, "sub-user disabled"
	if req.Disabled != nil && !*req.Disabled {
		status, message = subgate.StatusActive, "sub-user enabled"
	}
	if _, err := h.svc.SetStatus(r.Context(), p, r.PathValue("id"), status); err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	jsonhttp.Write(w, http.StatusOK, messageResponse{Success: true, Message: message})
}
