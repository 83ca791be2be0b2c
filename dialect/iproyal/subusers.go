package iproyal

import (
	"net/http"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// create adds a sub-user, giving its traffic from the reseller's pool in
// the same transaction.
func (h *handler) create(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req writeRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, "")
		return
	}
	if req.Username == nil || *req.Username == "" {
		h.failWith(w, r, subgate.Invalidf("username", "is required"), "")
		return
	}
	c := subgate.SubUserCreate{Username: *req.Username}
	if req.Password != nil {
		c.Password = *req.Password
	}
	limits, err := req.Limits.apply(subgate.Limits{})
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	c.Limits = limits
	traffic, given, err := req.trafficBytes()
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	if given && traffic > 0 {
		c.Traffic = map[subgate.Product]int64{product: traffic}
	}
	u, err := h.svc.CreateSubUser(r.Context(), p, 0, c, r.Header.Get("Idempotency-Key"))
	if err != nil {
		h.failWith(w, r, err, fallbackField(err, "traffic", "username"))
		return
	}
	jsonhttp.Write(w, http.StatusCreated, resourceOf(u))
}

// fallbackField blames a short pool on the traffic field and anything else
// on other.
func fallbackField(err error, traffic, other string) string {
	if subgate.ErrorCode(err) == subgate.EINSUFFICIENT {
		return traffic
	}
	return other
}

// get answers one sub-user by hash (or legacy id).
func (h *handler) get(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	u, err := h.svc.SubUser(r.Context(), p, r.PathValue("hash"))
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	jsonhttp.Write(w, http.StatusOK, resourceOf(u))
}

// update changes username, password and limits and moves traffic so the
// res balance equals "traffic", in one transaction: both or neither.
func (h *handler) update(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req writeRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, "")
		return
	}
	traffic, setTraffic, err := req.trafficBytes()
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	before, err := h.svc.SubUser(r.Context(), p, r.PathValue("hash"))
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	upd, err := fieldChanges(&req, before)
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	after := before
	switch {
	case setTraffic:
		after, err = h.svc.UpdateSubUserTraffic(r.Context(), p, before.Hash, upd,
			subgate.TrafficTarget{Product: product, Available: traffic}, r.Header.Get("Idempotency-Key"))
	case req.Username != nil || req.Password != nil || req.Limits != nil:
		after, err = h.svc.UpdateSubUser(r.Context(), p, before.Hash, upd)
	}
	if err != nil {
		h.failWith(w, r, err, fallbackField(err, "traffic", "username"))
		return
	}
	jsonhttp.Write(w, http.StatusOK, resourceOf(after))
}

// fieldChanges builds the update of username, password and limits.
func fieldChanges(req *writeRequest, u *subgate.SubUser) (subgate.SubUserUpdate, error) {
	upd := subgate.SubUserUpdate{Username: req.Username, Password: req.Password}
	if req.Limits != nil {
		limits, err := req.Limits.apply(u.Limits)
		if err != nil {
			return upd, err
		}
		upd.Limits = &limits
	}
	return upd, nil
}

// delete removes a sub-user; its unused traffic returns to the pool.
func (h *handler) delete(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	if err := h.svc.DeleteSubUser(r.Context(), p, r.PathValue("hash")); err != nil {
		h.failWith(w, r, err, "")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
