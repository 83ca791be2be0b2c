package route

import "github.com/subgate/subgate"

// ReasonNoEgress is the refusal code when a route has no egress the
// connection may use (no static IP in the requested country, none allocated
// to the sub-user).
const ReasonNoEgress = "no_egress"

// refusalError is a routing refusal the gateway shows the client as is
// (errors.As to *subgate.Refusal) and other callers read as a domain error
// (errors.As to *subgate.Error, so subgate.ErrorCode works).
type refusalError struct {
	refusal subgate.Refusal
	domain  *subgate.Error
}

func (e *refusalError) Error() string { return e.domain.Error() }

// As exposes both views of the error.
func (e *refusalError) As(target any) bool {
	switch t := target.(type) {
	case **subgate.Refusal:
		*t = &e.refusal
		return true
	case **subgate.Error:
		*t = e.domain
		return true
	}
	return false
}

// noRoute refuses a product the configuration has no route for.
func noRoute(p subgate.Product) error {
	d := subgate.Invalidf("product", "%q has no route configured on this gateway", p)
	return &refusalError{refusal: subgate.Refusal{Code: subgate.ReasonNoProduct, Message: d.Message}, domain: d}
}

// noEgress refuses a connection no egress of its route can serve.
func noEgress(format string, args ...any) error {
	d := subgate.Errorf(subgate.EINSUFFICIENT, format, args...)
	return &refusalError{refusal: subgate.Refusal{Code: ReasonNoEgress, Message: d.Message}, domain: d}
}
