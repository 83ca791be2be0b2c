package netnut

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

type allocateRequest struct {
	Allocate    *jsonhttp.Number `json:"allocate"`
	ProductType *string          `json:"product_type"`
}

// allocate gives GB of one product from the reseller's pool to the sub-user.
// A negative amount takes that many GB back to the pool (NetNut has no other
// endpoint for it). product_type defaults to "*" (any product) when absent.
func (h *handler) allocate(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req allocateRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	if req.Allocate == nil {
		h.failWith(w, r, subgate.Invalidf("allocate", "is required"), nil)
		return
	}
	product := subgate.ProductAny
	if req.ProductType != nil {
		var err error
		if product, err = subgate.ParseProduct(*req.ProductType); err != nil {
			h.failWith(w, r, err, nil)
			return
		}
	}
	gb := float64(*req.Allocate)
	bytes, err := subgate.GBToBytes("allocate", max(gb, -gb))
	if err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	move, verb := h.svc.Give, "allocated"
	if gb < 0 {
		move, verb = h.svc.Take, "took back"
	}
	u, err := move(r.Context(), p, r.PathValue("id"), product, bytes, r.Header.Get("Idempotency-Key"))
	if err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	jsonhttp.Write(w, http.StatusOK, dataResponse{
		Success: true,
		Message: fmt.Sprintf("%s %g GB of %s", verb, max(gb, -gb), product),
		Data:    []subUserItem{itemOf(u)},
	})
}

type allocateIPsRequest struct {
	AccessPoint *string          `json:"access_point"`
	CountryCode *string          `json:"country_code"`
	Zone        *string          `json:"zone"` // what some clients send for country_code
	IPs         *jsonhttp.Number `json:"ips"`
	Bandwidth   *jsonhttp.Number `json:"bandwidth"`
}

// allocateIPsResponse adds the sub-user and the dedicated IPs to NetNut's
// {success, message}.
type allocateIPsResponse struct {
	Success bool          `json:"success"`
	Message string        `json:"message"`
	IPs     []staticIP    `json:"ips"`
	Data    []subUserItem `json:"data"`
}

// staticIP is a dedicated IP as a reseller sees it: never the credentials of
// an upstream static proxy behind it.
type staticIP struct {
	ID          int64  `json:"id"`
	IP          string `json:"ip,omitempty"`
	CountryCode string `json:"country_code"`
	AccessPoint string `json:"access_point"`
}

// allocateIPs dedicates ips static IPs of country_code at access_point to
// the sub-user and gives it bandwidth GB of the static product, both or
// neither.
func (h *handler) allocateIPs(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req allocateIPsRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	a, bandwidth, err := req.allocation()
	if err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	ips, u, err := h.svc.AllocateStaticIPs(r.Context(), p, r.PathValue("id"), a, bandwidth, r.Header.Get("Idempotency-Key"))
	if err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	resp := allocateIPsResponse{
		Success: true,
		Message: fmt.Sprintf("allocated %d static IPs in %s with %g GB", len(ips), strings.ToUpper(a.Country), subgate.BytesToGB(bandwidth)),
		IPs:     make([]staticIP, 0, len(ips)),
		Data:    []subUserItem{itemOf(u)},
	}
	for _, ip := range ips {
		v := ip.PublicView(p.Admin)
		resp.IPs = append(resp.IPs, staticIP{ID: v.ID, IP: v.Address, CountryCode: strings.ToUpper(v.Country), AccessPoint: v.AccessPoint})
	}
	jsonhttp.Write(w, http.StatusOK, resp)
}

// allocation checks the required fields and converts bandwidth GB to bytes.
func (req *allocateIPsRequest) allocation() (subgate.StaticIPAllocation, int64, error) {
	var a subgate.StaticIPAllocation
	if req.Zone != nil {
		if req.CountryCode != nil && !strings.EqualFold(*req.CountryCode, *req.Zone) {
			return a, 0, subgate.Invalidf("zone", "differs from country_code (give one of them)")
		}
		req.CountryCode = req.Zone
	}
	if err := required(map[string]*string{"access_point": req.AccessPoint, "country_code": req.CountryCode}, "access_point", "country_code"); err != nil {
		return a, 0, err
	}
	if req.IPs == nil {
		return a, 0, subgate.Invalidf("ips", "is required")
	}
	count, ok := req.IPs.Int()
	if !ok || count < 1 || count > subgate.MaxStaticIPsPerAllocation {
		return a, 0, subgate.Invalidf("ips", "must be a whole number between 1 and %d", subgate.MaxStaticIPsPerAllocation)
	}
	if req.Bandwidth == nil {
		return a, 0, subgate.Invalidf("bandwidth", "is required")
	}
	bandwidth, err := subgate.GBToBytes("bandwidth", float64(*req.Bandwidth))
	if err != nil {
		return a, 0, err
	}
	a = subgate.StaticIPAllocation{Country: *req.CountryCode, AccessPoint: *req.AccessPoint, Count: int(count)}
	return a, bandwidth, nil
}
