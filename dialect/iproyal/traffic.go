package iproyal

import (
	"context"
	"net/http"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

type amountRequest struct {
	Amount *jsonhttp.Number `json:"amount"`
}

// giveTraffic moves amount GB from the pool to the sub-user.
func (h *handler) giveTraffic(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	h.moveTraffic(w, r, p, h.svc.Give)
}

// takeTraffic moves amount GB from the sub-user back to the pool.
func (h *handler) takeTraffic(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	h.moveTraffic(w, r, p, h.svc.Take)
}

// moveFunc is Service.Give or Service.Take.
type moveFunc func(ctx context.Context, p subgate.Principal, ref string, product subgate.Product, bytes int64, key string) (*subgate.SubUser, error)

func (h *handler) moveTraffic(w http.ResponseWriter, r *http.Request, p subgate.Principal, move moveFunc) {
	var req amountRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, "")
		return
	}
	if req.Amount == nil {
		h.failWith(w, r, subgate.Invalidf("amount", "is required"), "")
		return
	}
	bytes, err := subgate.GBToBytes("amount", float64(*req.Amount))
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	u, err := move(r.Context(), p, r.PathValue("hash"), product, bytes, r.Header.Get("Idempotency-Key"))
	if err != nil {
		h.failWith(w, r, err, "amount")
		return
	}
	jsonhttp.Write(w, http.StatusOK, resourceOf(u))
}
