package subgate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
)

// Error codes shared by every edge. Each edge maps them onto its own status
// codes and envelopes; the domain never speaks HTTP.
const (
	EINVALID      = "invalid"      // bad input: 400
	EUNAUTHORIZED = "unauthorized" // missing or wrong credentials: 401
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed (admin-only): 403
	ENOTFOUND     = "not_found"    // missing, or owned by someone else: 404
	ECONFLICT     = "conflict"     // duplicate username, email…: 409
	EINSUFFICIENT = "insufficient" // pool or balance too small: 422
	EUNAVAILABLE  = "unavailable"  // the store did not answer in time or cannot be reached: 503
	EINTERNAL     = "internal"     // anything else: 500
)

// unavailableMessage is what a client hears when the store is unavailable;
// retrying later is the remedy, nothing about the request is wrong.
const unavailableMessage = "the database is unavailable; try again shortly"

// Error is a domain error with a machine-readable code, a human message and,
// for bad input, the offending field.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds a domain error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf builds an EINVALID error about field; the message is prefixed with
// the field name so it reads well on its own.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: field + " " + fmt.Sprintf(format, args...)}
}

// NotFound builds an ENOTFOUND error for a kind of object.
func NotFound(kind string) *Error {
	return &Error{Code: ENOTFOUND, Message: kind + " not found"}
}

// ErrorCode returns the code of a domain error, EUNAVAILABLE for a store
// that did not answer in time or could not be reached, EINTERNAL for any
// other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case Unavailable(err):
		return EUNAVAILABLE
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of a domain error; other errors are
// hidden behind a generic text so internals never leak to clients.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Message
	case Unavailable(err):
		return unavailableMessage
	}
	return "internal error"
}

// Unavailable reports whether err says the store did not answer within the
// caller's deadline or could not be reached (a connection refused, reset,
// timed out or ended mid-answer), rather than that it refused the request:
// the same request may succeed once the store is back.
func Unavailable(err error) bool {
	var op *net.OpError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &op) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// ErrorField returns the offending field of an EINVALID error, or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
