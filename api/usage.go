package api

import (
	"context"
	"strconv"
	"time"

	"github.com/subgate/subgate"
)

// usageJSON is a usage series: one point per step and product with bytes.
type usageJSON struct {
	SubUserID   int64                    `json:"subuser_id,omitempty"`
	Granularity subgate.UsageGranularity `json:"granularity"`
	From        time.Time                `json:"from"`
	To          time.Time                `json:"to"`
	Total       int64                    `json:"total"`
	Points      []subgate.UsagePoint     `json:"points"`
}

func (s *Server) subUserUsage(ctx context.Context, r *request) (response, error) {
	u, err := s.svc.SubUser(ctx, r.principal, r.PathValue("ref"))
	if err != nil {
		return response{}, err
	}
	q, err := s.parseUsageQuery(r)
	if err != nil {
		return response{}, err
	}
	q.SubUserIDs = []int64{u.ID}
	return s.usage(ctx, r, q, u.ID)
}

func (s *Server) allUsage(ctx context.Context, r *request) (response, error) {
	q, err := s.parseUsageQuery(r)
	if err != nil {
		return response{}, err
	}
	switch r.URL.Query().Get("by_subuser") {
	case "", "false":
	case "true":
		q.BySubUser = true
	default:
		return response{}, subgate.Invalidf("by_subuser", "must be true or false")
	}
	return s.usage(ctx, r, q, 0)
}

func (s *Server) usage(ctx context.Context, r *request, q subgate.UsageQuery, id int64) (response, error) {
	pts, err := s.svc.Usage(ctx, r.principal, q)
	if err != nil {
		return response{}, err
	}
	out := usageJSON{SubUserID: id, Granularity: q.Granularity, From: q.From, To: q.To, Points: pts}
	if out.Granularity == "" {
		out.Granularity = subgate.GranularityDay
	}
	if out.Points == nil {
		out.Points = []subgate.UsagePoint{}
	}
	for _, p := range pts {
		out.Total += p.Bytes
	}
	return ok(out)
}

// parseUsageQuery reads from, to (RFC 3339 times or YYYY-MM-DD dates in the
// limit-window time zone; a date "to" includes that whole day) and
// granularity. Without from, the series covers the last 7 days (hour) or 30
// days (day) up to to, which defaults to now.
func (s *Server) parseUsageQuery(r *request) (subgate.UsageQuery, error) {
	v := r.URL.Query()
	q := subgate.UsageQuery{Granularity: subgate.UsageGranularity(v.Get("granularity"))}
	if q.Granularity != "" && q.Granularity != subgate.GranularityHour && q.Granularity != subgate.GranularityDay {
		return q, subgate.Invalidf("granularity", "must be hour or day")
	}
	var err error
	q.To = s.svc.Now().UTC()
	if t := v.Get("to"); t != "" {
		if q.To, err = s.parseInstant("to", t, true); err != nil {
			return q, err
		}
	}
	span := 30 * 24 * time.Hour
	if q.Granularity == subgate.GranularityHour {
		span = 7 * 24 * time.Hour
	}
	q.From = q.To.Add(-span)
	if f := v.Get("from"); f != "" {
		if q.From, err = s.parseInstant("from", f, false); err != nil {
			return q, err
		}
	}
	return q, nil
}

func (s *Server) parseInstant(field, v string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	loc := s.svc.Windows.Location
	if loc == nil {
		loc = time.UTC
	}
	d, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		return time.Time{}, subgate.Invalidf(field, "must be an RFC 3339 time or a YYYY-MM-DD date")
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1)
	}
	return d.UTC(), nil
}

// ledgerJSON is a page of ledger entries, newest first; next_before fetches
// the following page.
type ledgerJSON struct {
	Items      []*subgate.LedgerEntry `json:"items"`
	NextBefore int64                  `json:"next_before,omitempty"`
}

func (s *Server) ledger(ctx context.Context, r *request) (response, error) {
	return s.ledgerPage(ctx, r, r.URL.Query().Get("subuser"))
}

func (s *Server) subUserLedger(ctx context.Context, r *request) (response, error) {
	return s.ledgerPage(ctx, r, r.PathValue("ref"))
}

func (s *Server) ledgerPage(ctx context.Context, r *request, ref string) (response, error) {
	v := r.URL.Query()
	f := subgate.LedgerFilter{Kind: subgate.LedgerKind(v.Get("kind")), Product: subgate.Product(v.Get("product"))}
	if ref != "" {
		u, err := s.svc.SubUser(ctx, r.principal, ref)
		if err != nil {
			return response{}, err
		}
		f.SubUserID = u.ID
	}
	var err error
	if f.Before, err = queryInt64(v.Get("before"), "before"); err != nil {
		return response{}, err
	}
	limit, err := queryInt(v.Get("limit"), "limit", 100)
	if err != nil {
		return response{}, err
	}
	f.Limit = limit
	items, err := s.svc.Ledger(ctx, r.principal, f)
	if err != nil {
		return response{}, err
	}
	out := ledgerJSON{Items: items}
	if out.Items == nil {
		out.Items = []*subgate.LedgerEntry{}
	}
	if len(items) == f.Limit {
		out.NextBefore = items[len(items)-1].ID
	}
	return ok(out)
}

func queryInt64(v, name string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, subgate.Invalidf(name, "must be a positive whole number")
	}
	return n, nil
}
