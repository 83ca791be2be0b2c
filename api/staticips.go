package api

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// staticIPJSON is an inventory entry as the API shows it. A static proxy's
// password is never shown: the admin sees it as subgate.RedactedPassword,
// a reseller sees only the proxy's scheme and host:port.
type staticIPJSON struct {
	ID          int64      `json:"id"`
	Address     string     `json:"address,omitempty"`
	Upstream    string     `json:"upstream,omitempty"`
	Country     string     `json:"country"`
	AccessPoint string     `json:"access_point"`
	SubUserID   int64      `json:"subuser_id,omitempty"`
	AllocatedAt *time.Time `json:"allocated_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

func staticIPsJSON(p subgate.Principal, ips []*subgate.StaticIP) []staticIPJSON {
	out := make([]staticIPJSON, 0, len(ips))
	for _, ip := range ips {
		v := ip.PublicView(p.Admin)
		out = append(out, staticIPJSON{
			ID: v.ID, Address: v.Address, Upstream: v.Upstream, Country: v.Country,
			AccessPoint: v.AccessPoint, SubUserID: v.SubUserID, AllocatedAt: v.AllocatedAt, CreatedAt: v.CreatedAt,
		})
	}
	return out
}

type staticIPListJSON struct {
	Items []staticIPJSON `json:"items"`
	// NextAfter is the cursor of the next page; absent on the last page.
	NextAfter int64 `json:"next_after,omitempty"`
}

// addStaticIPs stocks the inventory (admin).
func (s *Server) addStaticIPs(ctx context.Context, r *request) (response, error) {
	var in struct {
		IPs []struct {
			Address     string `json:"address"`
			Upstream    string `json:"upstream"`
			Country     string `json:"country"`
			AccessPoint string `json:"access_point"`
		} `json:"ips"`
	}
	if err := r.decode(&in, false); err != nil {
		return response{}, err
	}
	ips := make([]*subgate.StaticIP, len(in.IPs))
	for i, ip := range in.IPs {
		ips[i] = &subgate.StaticIP{Address: ip.Address, Upstream: ip.Upstream, Country: ip.Country, AccessPoint: ip.AccessPoint}
	}
	if err := s.svc.AddStaticIPs(ctx, r.principal, ips); err != nil {
		return response{}, err
	}
	return created(staticIPListJSON{Items: staticIPsJSON(r.principal, ips)})
}

// listStaticIPs pages through the inventory (admin).
func (s *Server) listStaticIPs(ctx context.Context, r *request) (response, error) {
	q := r.URL.Query()
	f := subgate.StaticIPFilter{Country: q.Get("country"), AccessPoint: q.Get("access_point")}
	switch q.Get("allocated") {
	case "":
	case "true":
		f.AllocatedOnly = true
	case "false":
		f.FreeOnly = true
	default:
		return response{}, subgate.Invalidf("allocated", "must be true or false")
	}
	var err error
	if f.SubUserID, err = queryInt64(q.Get("subuser_id"), "subuser_id"); err != nil {
		return response{}, err
	}
	if f.After, err = queryInt64(q.Get("after"), "after"); err != nil {
		return response{}, err
	}
	if f.Limit, err = queryInt(q.Get("limit"), "limit", 100); err != nil {
		return response{}, err
	}
	if f.Limit < 1 || f.Limit > 1000 { // 0 would mean the default to the store
		return response{}, subgate.Invalidf("limit", "must be between 1 and 1000")
	}
	ips, err := s.svc.StaticIPs(ctx, r.principal, f)
	if err != nil {
		return response{}, err
	}
	out := staticIPListJSON{Items: staticIPsJSON(r.principal, ips)}
	if len(ips) == f.Limit {
		out.NextAfter = ips[len(ips)-1].ID
	}
	return ok(out)
}

// removeStaticIP deletes a free inventory entry (admin).
func (s *Server) removeStaticIP(ctx context.Context, r *request) (response, error) {
	id, err := pathID(r, "id", "static IP")
	if err != nil {
		return response{}, err
	}
	if err := s.svc.RemoveStaticIP(ctx, r.principal, id); err != nil {
		return response{}, err
	}
	return noContent()
}

// allocationIn is the body of POST /v1/subusers/{ref}/static-ips.
type allocationIn struct {
	Country        string `json:"country"`
	AccessPoint    string `json:"access_point"`
	Count          int    `json:"count"`
	BandwidthBytes int64  `json:"bandwidth_bytes"`
}

type allocatedJSON struct {
	IPs     []staticIPJSON `json:"ips"`
	SubUser subUserJSON    `json:"subuser"`
}

// allocateStaticIPs dedicates free IPs to a sub-user and gives it static
// bandwidth, both or neither.
func (s *Server) allocateStaticIPs(ctx context.Context, r *request) (response, error) {
	var in allocationIn
	if err := r.decode(&in, false); err != nil {
		return response{}, err
	}
	a := subgate.StaticIPAllocation{Country: in.Country, AccessPoint: in.AccessPoint, Count: in.Count}
	ips, u, err := s.svc.AllocateStaticIPs(ctx, r.principal, r.PathValue("ref"), a, in.BandwidthBytes, r.idemKey)
	if err != nil {
		// The service names fields as the provider dialects do.
		return response{}, renameField(err, map[string]string{"ips": "count", "country_code": "country", "bandwidth": "bandwidth_bytes"})
	}
	return created(allocatedJSON{IPs: staticIPsJSON(r.principal, ips), SubUser: s.subUserJSON(u)})
}

// renameField rewrites the field of an EINVALID error (and the message that
// starts with it) into this API's name for it.
func renameField(err error, names map[string]string) error {
	var e *subgate.Error
	if !errors.As(err, &e) || e.Code != subgate.EINVALID {
		return err
	}
	to, ok := names[e.Field]
	if !ok {
		return err
	}
	msg := e.Message
	if rest, found := strings.CutPrefix(msg, e.Field); found {
		msg = to + rest
	}
	return &subgate.Error{Code: e.Code, Field: to, Message: msg}
}

func (s *Server) subUserStaticIPs(ctx context.Context, r *request) (response, error) {
	ips, err := s.svc.SubUserStaticIPs(ctx, r.principal, r.PathValue("ref"))
	if err != nil {
		return response{}, err
	}
	return ok(staticIPListJSON{Items: staticIPsJSON(r.principal, ips)})
}

// releaseStaticIPs frees a sub-user's IPs: those named in ids, or all.
func (s *Server) releaseStaticIPs(ctx context.Context, r *request) (response, error) {
	var in struct {
		IDs []int64 `json:"ids"`
	}
	if err := r.decode(&in, true); err != nil {
		return response{}, err
	}
	if in.IDs != nil && len(in.IDs) == 0 {
		return response{}, subgate.Invalidf("ids", "must name at least one IP; leave it out to release all")
	}
	if len(in.IDs) > subgate.MaxStaticIPsPerAllocation {
		return response{}, subgate.Invalidf("ids", "must name at most %d IPs", subgate.MaxStaticIPsPerAllocation)
	}
	for i, id := range in.IDs {
		if id <= 0 {
			return response{}, subgate.Invalidf("ids["+strconv.Itoa(i)+"]", "must be a static IP id")
		}
	}
	n, err := s.svc.ReleaseStaticIPs(ctx, r.principal, r.PathValue("ref"), in.IDs)
	if err != nil {
		return response{}, err
	}
	return ok(struct {
		Released int `json:"released"`
	}{n})
}
