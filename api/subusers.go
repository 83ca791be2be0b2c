package api

import (
	"context"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// subUserJSON is a sub-user as the API shows it: every product's balance,
// the current window usage and the derived read-only states.
type subUserJSON struct {
	ID          int64                               `json:"id"`
	Hash        string                              `json:"hash"`
	ResellerID  int64                               `json:"reseller_id"`
	Username    string                              `json:"username"`
	Password    string                              `json:"password"`
	Name        string                              `json:"name"`
	Note        string                              `json:"note"`
	Email       string                              `json:"email"`
	PrivatePool float64                             `json:"private_pool"`
	Status      subgate.Status                      `json:"status"`
	Funding     subgate.Funding                     `json:"funding"`
	Traffic     map[subgate.Product]subgate.Traffic `json:"traffic"`
	// Remaining is, for a shared sub-user, what it may still use per
	// product: the smallest of the pool and its limits.
	Remaining map[subgate.Product]int64 `json:"remaining,omitempty"`
	Available int64                     `json:"available"` // over all products
	Used      int64                     `json:"used"`
	Limits    subgate.Limits            `json:"limits"`
	Usage     subgate.WindowUsage       `json:"usage"`
	Limited   bool                      `json:"limited"`
	Expired   bool                      `json:"expired"`
	ExpiresAt *time.Time                `json:"expires_at"`
	AllowIPs  []string                  `json:"allow_ips"`
	CreatedAt time.Time                 `json:"created_at"`
	UpdatedAt time.Time                 `json:"updated_at"`
}

func (s *Server) subUserJSON(u *subgate.SubUser) subUserJSON {
	now := s.svc.Now()
	traffic := make(map[subgate.Product]subgate.Traffic, len(subgate.Products))
	for _, p := range subgate.Products {
		traffic[p] = u.Traffic[p]
	}
	ips := make([]string, 0, len(u.AllowIPs))
	for _, p := range u.AllowIPs {
		ips = append(ips, p.String())
	}
	var remaining map[subgate.Product]int64
	if u.Shared() {
		remaining = u.Remaining(u.Usage)
	}
	return subUserJSON{
		ID: u.ID, Hash: u.Hash, ResellerID: u.ResellerID, Username: u.Username, Password: u.Password,
		Name: u.Name, Note: u.Note, Email: u.Email, PrivatePool: u.PrivatePool, Status: u.Status,
		Funding: u.Funding, Remaining: remaining,
		Traffic: traffic, Available: u.TotalAvailable(), Used: u.TotalUsed(), Limits: u.Limits,
		Usage: u.Usage, Limited: u.Limited(now), Expired: u.Expired(now), ExpiresAt: u.ExpiresAt,
		AllowIPs: ips, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// subUserCreateIn is the body of POST /v1/subusers.
type subUserCreateIn struct {
	ResellerID        int64                     `json:"reseller_id"`
	Username          string                    `json:"username"`
	Password          string                    `json:"password"`
	Name              string                    `json:"name"`
	Note              string                    `json:"note"`
	Email             string                    `json:"email"`
	DashboardPassword string                    `json:"dashboard_password"`
	PrivatePool       float64                   `json:"private_pool"`
	Status            subgate.Status            `json:"status"`
	Funding           subgate.Funding           `json:"funding"`
	Limits            subgate.Limits            `json:"limits"`
	ExpiresAt         *string                   `json:"expires_at"`
	AllowIPs          []string                  `json:"allow_ips"`
	Traffic           map[subgate.Product]int64 `json:"traffic"`
}

func (s *Server) createSubUser(ctx context.Context, r *request) (response, error) {
	var in subUserCreateIn
	if err := r.decode(&in, false); err != nil {
		return response{}, err
	}
	if !r.principal.Admin && in.ResellerID != 0 && in.ResellerID != r.principal.ResellerID {
		return response{}, subgate.Invalidf("reseller_id", "is for the admin only; leave it out")
	}
	c := subgate.SubUserCreate{
		Username: in.Username, Password: in.Password, Name: in.Name, Note: in.Note, Email: in.Email,
		DashboardPassword: in.DashboardPassword, PrivatePool: in.PrivatePool, Status: in.Status,
		Funding: in.Funding, Limits: in.Limits, Traffic: in.Traffic,
	}
	var err error
	if in.ExpiresAt != nil {
		if c.ExpiresAt, err = parseExpiry(*in.ExpiresAt); err != nil {
			return response{}, err
		}
	}
	if c.AllowIPs, err = parsePrefixes(in.AllowIPs); err != nil {
		return response{}, err
	}
	u, err := s.svc.CreateSubUser(ctx, r.principal, in.ResellerID, c, r.idemKey)
	if err != nil {
		return response{}, err
	}
	return created(s.subUserJSON(u))
}

func (s *Server) getSubUser(ctx context.Context, r *request) (response, error) {
	u, err := s.svc.SubUser(ctx, r.principal, r.PathValue("ref"))
	if err != nil {
		return response{}, err
	}
	return ok(s.subUserJSON(u))
}

// subUserPageJSON is one page of sub-users. Total is present only when
// count asks for it; page only for page requests (not cursor ones).
type subUserPageJSON struct {
	Items          []subUserJSON `json:"items"`
	Total          *int64        `json:"total,omitempty"`
	TotalEstimated bool          `json:"total_estimated,omitempty"`
	Page           int           `json:"page,omitempty"`
	PerPage        int           `json:"per_page"`
	NextCursor     string        `json:"next_cursor,omitempty"`
}

func (s *Server) listSubUsers(ctx context.Context, r *request) (response, error) {
	f, page, err := parseListQuery(r)
	if err != nil {
		return response{}, err
	}
	res, err := s.svc.SubUsers(ctx, r.principal, f)
	if err != nil {
		return response{}, err
	}
	out := subUserPageJSON{Items: make([]subUserJSON, 0, len(res.Items)), PerPage: f.Limit, NextCursor: res.Next}
	for _, u := range res.Items {
		out.Items = append(out.Items, s.subUserJSON(u))
	}
	if f.WithTotal {
		out.Total, out.TotalEstimated = &res.Total, res.TotalEstimated
	}
	if f.After == "" {
		out.Page = page
	}
	return ok(out)
}

func parseListQuery(r *request) (subgate.SubUserFilter, int, error) {
	q := r.URL.Query()
	f := subgate.SubUserFilter{
		Search: q.Get("search"),
		Status: subgate.Status(q.Get("status")),
		Sort:   subgate.SubUserSort(q.Get("sort")),
		After:  q.Get("cursor"),
	}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		return f, 0, subgate.Invalidf("order", "must be asc or desc")
	}
	// A total costs a count of the matches, so it is given only when asked.
	switch q.Get("count") {
	case "", "none":
	case "exact":
		f.WithTotal = true
	case "estimate":
		f.WithTotal, f.EstimateTotal = true, true
	default:
		return f, 0, subgate.Invalidf("count", "must be none, exact or estimate")
	}
	perPage, err := queryInt(q.Get("per_page"), "per_page", 50)
	if err != nil {
		return f, 0, err
	}
	page, err := queryInt(q.Get("page"), "page", 1)
	if err != nil {
		return f, 0, err
	}
	if page < 1 || page > 1_000_000 {
		return f, 0, subgate.Invalidf("page", "must be between 1 and 1000000")
	}
	if perPage < 1 || perPage > 1000 {
		return f, 0, subgate.Invalidf("per_page", "must be between 1 and 1000")
	}
	f.Limit = perPage
	if f.After == "" {
		f.Offset = (page - 1) * perPage
	} else if q.Has("page") {
		return f, 0, subgate.Invalidf("page", "cannot be combined with cursor")
	}
	return f, page, nil
}

func queryInt(v, name string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, subgate.Invalidf(name, "must be a whole number")
	}
	return n, nil
}

// subUserPatchIn is the body of PATCH /v1/subusers/{ref}: absent fields are
// left alone; expires_at null clears the expiry.
type subUserPatchIn struct {
	Username          *string              `json:"username"`
	Password          *string              `json:"password"`
	Name              *string              `json:"name"`
	Note              *string              `json:"note"`
	Email             *string              `json:"email"`
	DashboardPassword *string              `json:"dashboard_password"`
	PrivatePool       *float64             `json:"private_pool"`
	Status            *subgate.Status      `json:"status"`
	Funding           *subgate.Funding     `json:"funding"`
	Limits            *subgate.LimitsPatch `json:"limits"`
	ExpiresAt         json.RawMessage      `json:"expires_at"`
	AllowIPs          *[]string            `json:"allow_ips"`
}

func (s *Server) updateSubUser(ctx context.Context, r *request) (response, error) {
	var in subUserPatchIn
	if err := r.decode(&in, false); err != nil {
		return response{}, err
	}
	upd, err := in.update()
	if err != nil {
		return response{}, err
	}
	ref := r.PathValue("ref")
	if in.Limits != nil {
		cur, err := s.svc.SubUser(ctx, r.principal, ref)
		if err != nil {
			return response{}, err
		}
		l := in.Limits.Apply(cur.Limits)
		upd.Limits = &l
	}
	u, err := s.svc.UpdateSubUser(ctx, r.principal, ref, upd)
	if err != nil {
		return response{}, err
	}
	return ok(s.subUserJSON(u))
}

// update is the patch as a SubUserUpdate, without its limits: those
// apply to each sub-user's current ones.
func (in *subUserPatchIn) update() (subgate.SubUserUpdate, error) {
	upd := subgate.SubUserUpdate{
		Username: in.Username, Password: in.Password, Name: in.Name, Note: in.Note, Email: in.Email,
		DashboardPassword: in.DashboardPassword, PrivatePool: in.PrivatePool, Status: in.Status,
		Funding: in.Funding,
	}
	if err := patchExpiry(&upd, in.ExpiresAt); err != nil {
		return upd, err
	}
	if in.AllowIPs != nil {
		ps, err := parsePrefixes(*in.AllowIPs)
		if err != nil {
			return upd, err
		}
		upd.AllowIPs = &ps
	}
	return upd, nil
}

func patchExpiry(upd *subgate.SubUserUpdate, raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	var cleared *time.Time
	if string(raw) == "null" {
		upd.ExpiresAt = &cleared
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return subgate.Invalidf("expires_at", "must be an RFC 3339 time or null")
	}
	t, err := parseExpiry(s)
	if err != nil {
		return err
	}
	upd.ExpiresAt = &t
	return nil
}

func parseExpiry(s string) (*time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, subgate.Invalidf("expires_at", "must be an RFC 3339 time such as 2026-12-31T23:59:59Z")
	}
	t = t.UTC()
	return &t, nil
}

// parsePrefixes reads CIDRs; a bare address means that one address.
func parsePrefixes(in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for i, s := range in {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, subgate.Invalidf("allow_ips["+strconv.Itoa(i)+"]", "must be an IP address or CIDR")
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// deletedJSON answers a delete: the unused traffic went back to the pools
// shown.
type deletedJSON struct {
	ID       int64                     `json:"id"`
	Hash     string                    `json:"hash"`
	Username string                    `json:"username"`
	Deleted  bool                      `json:"deleted"`
	Pools    map[subgate.Product]int64 `json:"pools"`
}

func (s *Server) deleteSubUser(ctx context.Context, r *request) (response, error) {
	u, err := s.svc.SubUser(ctx, r.principal, r.PathValue("ref"))
	if err != nil {
		return response{}, err
	}
	if err := s.svc.DeleteSubUser(ctx, r.principal, itoa(u.ID)); err != nil {
		return response{}, err
	}
	res, err := s.svc.Reseller(ctx, r.principal, u.ResellerID)
	if err != nil {
		return response{}, err
	}
	return ok(deletedJSON{ID: u.ID, Hash: u.Hash, Username: u.Username, Deleted: true, Pools: newResellerJSON(res).Pools})
}

func (s *Server) setPassword(ctx context.Context, r *request) (response, error) {
	var in struct {
		Password string `json:"password"`
	}
	if err := r.decode(&in, true); err != nil {
		return response{}, err
	}
	if in.Password == "" {
		in.Password = subgate.NewProxyPassword()
	}
	u, err := s.svc.SetPassword(ctx, r.principal, r.PathValue("ref"), in.Password)
	if err != nil {
		return response{}, err
	}
	return ok(s.subUserJSON(u))
}

func (s *Server) disable(ctx context.Context, r *request) (response, error) {
	return s.setStatus(ctx, r, subgate.StatusDisabled)
}

func (s *Server) enable(ctx context.Context, r *request) (response, error) {
	return s.setStatus(ctx, r, subgate.StatusActive)
}

func (s *Server) setStatus(ctx context.Context, r *request, st subgate.Status) (response, error) {
	if err := r.decode(&struct{}{}, true); err != nil {
		return response{}, err
	}
	u, err := s.svc.SetStatus(ctx, r.principal, r.PathValue("ref"), st)
	if err != nil {
		return response{}, err
	}
	return ok(s.subUserJSON(u))
}
