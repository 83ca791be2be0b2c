package api

import (
	"context"
	"strconv"
	"time"

	"github.com/subgate/subgate"
)

// resellerJSON is a reseller as the API shows it; pools list every product.
type resellerJSON struct {
	ID        int64                     `json:"id"`
	Name      string                    `json:"name"`
	Email     string                    `json:"email,omitempty"`
	Pools     map[subgate.Product]int64 `json:"pools"`
	CreatedAt time.Time                 `json:"created_at"`
}

func newResellerJSON(r *subgate.Reseller) resellerJSON {
	pools := make(map[subgate.Product]int64, len(subgate.Products))
	for _, p := range subgate.Products {
		pools[p] = r.Pools[p]
	}
	return resellerJSON{ID: r.ID, Name: r.Name, Email: r.Email, Pools: pools, CreatedAt: r.CreatedAt}
}

type meJSON struct {
	resellerJSON
	SubUserCount int64 `json:"subuser_count"`
}

// tokenIssuedJSON shows a new token's secret, the only time it is shown.
type tokenIssuedJSON struct {
	Secret string `json:"token"`
	*subgate.Token
}

func (s *Server) createReseller(ctx context.Context, r *request) (response, error) {
	var in subgate.ResellerCreate
	if err := r.decode(&in, false); err != nil {
		return response{}, err
	}
	res, err := s.svc.CreateReseller(ctx, r.principal, in)
	if err != nil {
		return response{}, err
	}
	return created(newResellerJSON(res))
}

func (s *Server) listResellers(ctx context.Context, r *request) (response, error) {
	rs, err := s.svc.Resellers(ctx, r.principal)
	if err != nil {
		return response{}, err
	}
	items := make([]resellerJSON, 0, len(rs))
	for _, res := range rs {
		items = append(items, newResellerJSON(res))
	}
	return ok(map[string]any{"items": items})
}

func (s *Server) getReseller(ctx context.Context, r *request) (response, error) {
	id, err := pathID(r, "id", "reseller")
	if err != nil {
		return response{}, err
	}
	res, err := s.svc.Reseller(ctx, r.principal, id)
	if err != nil {
		return response{}, err
	}
	return ok(newResellerJSON(res))
}

func (s *Server) me(ctx context.Context, r *request) (response, error) {
	res, n, err := s.svc.Me(ctx, r.principal)
	if err != nil {
		return response{}, err
	}
	return ok(meJSON{newResellerJSON(res), n})
}

func (s *Server) issueToken(ctx context.Context, r *request) (response, error) {
	if err := r.decode(&struct{}{}, true); err != nil {
		return response{}, err
	}
	id, err := pathID(r, "id", "reseller")
	if err != nil {
		return response{}, err
	}
	secret, t, err := s.svc.IssueToken(ctx, r.principal, id, subgate.TokenAPI)
	if err != nil {
		return response{}, err
	}
	return created(tokenIssuedJSON{Secret: secret, Token: t})
}

func (s *Server) listTokens(ctx context.Context, r *request) (response, error) {
	id, err := pathID(r, "id", "reseller")
	if err != nil {
		return response{}, err
	}
	ts, err := s.svc.Tokens(ctx, r.principal, id)
	if err != nil {
		return response{}, err
	}
	if ts == nil {
		ts = []*subgate.Token{}
	}
	return ok(map[string]any{"items": ts})
}

func (s *Server) revokeToken(ctx context.Context, r *request) (response, error) {
	id, err := pathID(r, "id", "reseller")
	if err != nil {
		return response{}, err
	}
	tid, err := pathID(r, "token_id", "token")
	if err != nil {
		return response{}, err
	}
	if err := s.svc.RevokeToken(ctx, r.principal, id, tid); err != nil {
		return response{}, err
	}
	return noContent()
}

// pathID parses a numeric path parameter; anything else cannot name an
// object, so it is 404 like a missing one.
func pathID(r *request, name, kind string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, subgate.NotFound(kind)
	}
	return id, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
