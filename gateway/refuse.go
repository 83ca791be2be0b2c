package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"

	"github.com/subgate/subgate"
)

// Reasons the gateway adds to the domain's subgate.Reason* codes.
const (
	reasonBadRequest   = "bad_request"
	reasonRateLimited  = "auth_rate_limited"
	reasonDialRefused  = "dial_refused"
	reasonDialTimeout  = "dial_timeout"
	reasonDialFailed   = "dial_failed"
	reasonUnsupported  = "unsupported"
	reasonShuttingDown = "shutting_down"
	reasonUnavailable  = "unavailable"
)

// refusal is why a connection or request is not served; every edge turns it
// into an answer the client can read (HTTP status, header and body, or a
// SOCKS5 reply code) and a log line.
type refusal struct {
	Code    string
	Message string
}

func (r *refusal) Error() string { return r.Code + ": " + r.Message }

func refuse(code, format string, args ...any) *refusal {
	return &refusal{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errStoreDown fails a lease request at once after the store failed one.
var errStoreDown = errors.New("the store failed a moment ago")

// storeUnavailable refuses a connection the store must decide on while it
// does not answer: never an exhausted budget, which it may not be.
func storeUnavailable() *refusal {
	return refuse(reasonUnavailable, "the metering store is unavailable; try again shortly")
}

func fromDomain(r *subgate.Refusal) *refusal { return &refusal{Code: r.Code, Message: r.Message} }

// httpStatus maps a reason onto an HTTP status.
func httpStatus(code string) int {
	switch code {
	case subgate.ReasonAuth:
		return http.StatusProxyAuthRequired
	case subgate.ReasonTrafficExhausted, subgate.ReasonLimitDaily, subgate.ReasonLimitMonthly,
		subgate.ReasonLimitLifetime, subgate.ReasonUsageCap:
		return http.StatusPaymentRequired
	case subgate.ReasonConcurrency, reasonRateLimited:
		return http.StatusTooManyRequests
	case subgate.ReasonBadParameter, reasonBadRequest:
		return http.StatusBadRequest
	case reasonDialTimeout:
		return http.StatusGatewayTimeout
	case reasonDialRefused, reasonDialFailed:
		return http.StatusBadGateway
	case reasonUnsupported:
		return http.StatusNotImplemented
	case reasonShuttingDown, reasonUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusForbidden // disabled, blocked, expired, deleted, ip_cap, product_not_allowed
}

// SOCKS5 reply codes (RFC 1928 section 6).
const (
	socksSucceeded          = 0x00
	socksGeneralFailure     = 0x01
	socksNotAllowed         = 0x02
	socksNetUnreachable     = 0x03
	socksHostUnreachable    = 0x04
	socksConnRefused        = 0x05
	socksTTLExpired         = 0x06
	socksCmdNotSupported    = 0x07
	socksAddrTypeNotSupport = 0x08
)

// socksReply maps a reason onto a SOCKS5 reply code: refusals by policy are
// "not allowed by ruleset", dial failures say what went wrong.
func socksReply(code string) byte {
	switch code {
	case reasonDialRefused:
		return socksConnRefused
	case reasonDialTimeout:
		return socksHostUnreachable
	case reasonDialFailed, reasonShuttingDown, reasonUnavailable:
		return socksGeneralFailure
	case reasonUnsupported:
		return socksCmdNotSupported
	}
	return socksNotAllowed
}

// writeHTTPRefusal answers a refused HTTP request and asks the client to
// close the connection.
func writeHTTPRefusal(w io.Writer, r *refusal) error {
	status := httpStatus(r.Code)
	body := "subgate: " + r.Code + ": " + r.Message + "\n"
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	if status == http.StatusProxyAuthRequired {
		b.WriteString("Proxy-Authenticate: Basic realm=\"subgate\"\r\n")
	}
	if status == http.StatusServiceUnavailable {
		// The store or the node is away for a moment, not for good.
		b.WriteString("Retry-After: 1\r\n")
	}
	fmt.Fprintf(&b, "X-Subgate-Error: %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		r.Code, len(body), body)
	_, err := io.WriteString(w, b.String())
	return err
}

// dialRefusal explains a failed outbound dial; a refusal raised by the
// dialer's Admit callback passes through.
func dialRefusal(err error) *refusal {
	var dr *subgate.Refusal
	if errors.As(err, &dr) {
		return fromDomain(dr)
	}
	var r *refusal
	if errors.As(err, &r) {
		return r
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return refuse(reasonDialRefused, "target refused the connection")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return refuse(reasonDialTimeout, "target did not answer in time")
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return refuse(reasonDialFailed, "cannot resolve %s", dns.Name)
	}
	return refuse(reasonDialFailed, "cannot reach target")
}
