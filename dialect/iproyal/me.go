package iproyal

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"strconv"

	"github.com/oklog/ulid/v2"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

type meResponse struct {
	AvailableTraffic    float64 `json:"available_traffic"`
	SubusersCount       int64   `json:"subusers_count"`
	ResidentialUserHash string  `json:"residential_user_hash"`
}

// me describes the calling reseller: its residential pool in GB, how many
// sub-users it has and a stable ULID-shaped identifier.
func (h *handler) me(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	reseller, count, err := h.svc.Me(r.Context(), p)
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	jsonhttp.Write(w, http.StatusOK, meResponse{
		AvailableTraffic:    subgate.BytesToGB(reseller.Pools[product]),
		SubusersCount:       count,
		ResidentialUserHash: resellerHash(reseller),
	})
}

// resellerHash derives a ULID from the reseller's creation time and id, so
// it is the same on every request and every node without being stored.
func resellerHash(r *subgate.Reseller) string {
	sum := sha256.Sum256([]byte("reseller:" + strconv.FormatInt(r.ID, 10)))
	id, err := ulid.New(ulid.Timestamp(r.CreatedAt), bytes.NewReader(sum[:10]))
	if err != nil {
		id, _ = ulid.New(0, bytes.NewReader(sum[:10]))
	}
	return id.String()
}
