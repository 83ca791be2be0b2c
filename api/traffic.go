package api

import (
	"context"

	"github.com/subgate/subgate"
)

// amountIn moves bytes of one product. Bytes are always positive; the
// endpoint gives the direction (credit/debit, give/take).
type amountIn struct {
	Product subgate.Product `json:"product"`
	Bytes   int64           `json:"bytes"`
}

func (r *request) decodeAmount() (amountIn, error) {
	var in amountIn
	if err := r.decode(&in, false); err != nil {
		return in, err
	}
	p, err := subgate.ParseProduct(string(in.Product))
	if err != nil {
		return in, err
	}
	in.Product = p
	return in, subgate.ValidateAmount("bytes", in.Bytes)
}

func (s *Server) creditPool(ctx context.Context, r *request) (response, error) {
	return s.movePool(ctx, r, 1)
}

func (s *Server) debitPool(ctx context.Context, r *request) (response, error) {
	return s.movePool(ctx, r, -1)
}

func (s *Server) movePool(ctx context.Context, r *request, sign int64) (response, error) {
	id, err := pathID(r, "id", "reseller")
	if err != nil {
		return response{}, err
	}
	in, err := r.decodeAmount()
	if err != nil {
		return response{}, err
	}
	res, err := s.svc.CreditPool(ctx, r.principal, id, in.Product, sign*in.Bytes, r.idemKey)
	if err != nil {
		return response{}, err
	}
	return ok(newResellerJSON(res))
}

func (s *Server) give(ctx context.Context, r *request) (response, error) {
	return s.transfer(ctx, r, s.svc.Give)
}

func (s *Server) take(ctx context.Context, r *request) (response, error) {
	return s.transfer(ctx, r, s.svc.Take)
}

type transferFunc func(ctx context.Context, p subgate.Principal, ref string, product subgate.Product, bytes int64, key string) (*subgate.SubUser, error)

func (s *Server) transfer(ctx context.Context, r *request, move transferFunc) (response, error) {
	in, err := r.decodeAmount()
	if err != nil {
		return response{}, err
	}
	u, err := move(ctx, r.principal, r.PathValue("ref"), in.Product, in.Bytes, r.idemKey)
	if err != nil {
		return response{}, err
	}
	return ok(s.subUserJSON(u))
}
