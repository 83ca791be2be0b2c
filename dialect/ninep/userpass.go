package ninep

import (
	"net/http"
	"strconv"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// writeRequest is the body of create, update and delete.
type writeRequest struct {
	ID         *jsonhttp.Number `json:"id"`
	UserName   *string          `json:"user_name"`
	UseKey     *string          `json:"use_key"`
	Status     *jsonhttp.Number `json:"status"`
	Note       *string          `json:"note"`
	UsageCap   *jsonhttp.Number `json:"usage_cap"`
	IPUsageCap *jsonhttp.Number `json:"ip_usage_cap"`
}

// limits applies usage_cap and ip_usage_cap, when given, on top of base.
func (req *writeRequest) limits(base subgate.Limits) (subgate.Limits, error) {
	var err error
	if req.UsageCap != nil {
		if base.UsageCap, err = parseUsageCap(req.UsageCap); err != nil {
			return base, err
		}
	}
	if req.IPUsageCap != nil {
		if base.IPUsageCap, err = parseIPUsageCap(req.IPUsageCap); err != nil {
			return base, err
		}
	}
	return base, nil
}

// ref reads the id every update and delete names.
func (req *writeRequest) ref() (string, error) {
	if req.ID == nil {
		return "", subgate.Invalidf("id", "is required")
	}
	id, ok := req.ID.Int()
	if !ok || id < 1 {
		return "", subgate.Invalidf("id", "must be a positive integer")
	}
	return strconv.FormatInt(id, 10), nil
}

// create adds a sub-user. 9Proxy sub-users draw on the main account's
// traffic (shared funding), bounded by usage_cap, so one works on the
// gateway as soon as it exists.
func (h *handler) create(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req writeRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err)
		return
	}
	c, err := req.create()
	if err != nil {
		h.failWith(w, r, err)
		return
	}
	u, err := h.svc.CreateSubUser(r.Context(), p, 0, c, r.Header.Get("Idempotency-Key"))
	if err != nil {
		h.failWith(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, response{Success: true, Message: "Sub-user created", Result: itemOf(u)})
}

func (req *writeRequest) create() (subgate.SubUserCreate, error) {
	var c subgate.SubUserCreate
	switch {
	case req.UserName == nil || *req.UserName == "":
		return c, subgate.Invalidf("user_name", "is required")
	case req.UseKey == nil || *req.UseKey == "":
		return c, subgate.Invalidf("use_key", "is required")
	case req.Status == nil:
		return c, subgate.Invalidf("status", "is required (1 active, 2 disabled)")
	}
	status, err := parseStatus(req.Status)
	if err != nil {
		return c, err
	}
	limits, err := req.limits(subgate.Limits{})
	if err != nil {
		return c, err
	}
	c = subgate.SubUserCreate{Username: *req.UserName, Password: *req.UseKey, Status: status, Limits: limits,
		Funding: subgate.FundingShared}
	if req.Note != nil {
		c.Note = *req.Note
	}
	return c, nil
}

// update changes the fields given; id is required.
func (h *handler) update(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req writeRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err)
		return
	}
	ref, err := req.ref()
	if err != nil {
		h.failWith(w, r, err)
		return
	}
	u, err := h.svc.SubUser(r.Context(), p, ref)
	if err != nil {
		h.failWith(w, r, err)
		return
	}
	upd, err := req.update(u)
	if err != nil {
		h.failWith(w, r, err)
		return
	}
	if u, err = h.svc.UpdateSubUser(r.Context(), p, ref, upd); err != nil {
		h.failWith(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, response{Success: true, Message: "Sub-user updated", Result: itemOf(u)})
}

func (req *writeRequest) update(u *subgate.SubUser) (subgate.SubUserUpdate, error) {
	upd := subgate.SubUserUpdate{Username: req.UserName, Password: req.UseKey, Note: req.Note}
	if req.Status != nil {
		status, err := parseStatus(req.Status)
		if err != nil {
			return upd, err
		}
		upd.Status = &status
	}
	if req.UsageCap != nil || req.IPUsageCap != nil {
		limits, err := req.limits(u.Limits)
		if err != nil {
			return upd, err
		}
		upd.Limits = &limits
	}
	return upd, nil
}

// delete removes the sub-user named by {"id":N}; its unused traffic returns
// to the pool. Clients that cannot send a body with DELETE may pass ?id=N.
func (h *handler) delete(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req writeRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err)
		return
	}
	if q := r.URL.Query().Get("id"); req.ID == nil && q != "" {
		var id jsonhttp.Number
		if err := id.UnmarshalJSON([]byte(q)); err != nil {
			h.failWith(w, r, subgate.Invalidf("id", "must be a positive integer"))
			return
		}
		req.ID = &id
	}
	ref, err := req.ref()
	if err != nil {
		h.failWith(w, r, err)
		return
	}
	if err := h.svc.DeleteSubUser(r.Context(), p, ref); err != nil {
		h.failWith(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, response{Success: true, Message: "Sub-user deleted"})
}
