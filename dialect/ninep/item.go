package ninep

import (
	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// 9Proxy's status codes.
const (
	statusActive   = 1
	statusDisabled = 2
	statusBlocked  = 3
)

// item is a sub-user as 9Proxy lists it.
type item struct {
	ID         int64  `json:"id"`
	UserName   string `json:"user_name"`
	UseKey     string `json:"use_key"`
	UsageCap   int64  `json:"usage_cap"`
	IPUsageCap int64  `json:"ip_usage_cap"`
	DataUsed   int64  `json:"data_used"`
	IPUsed     int64  `json:"ip_used"`
	Status     int    `json:"status"`
	Note       string `json:"note"`
	CreatedAt  int64  `json:"created_at"`
	UpdatedAt  int64  `json:"updated_at"`
}

func itemOf(u *subgate.SubUser) item {
	ipCap := u.Limits.IPUsageCap
	if ipCap == 0 {
		ipCap = -1
	}
	return item{
		ID: u.ID, UserName: u.Username, UseKey: u.Password, UsageCap: u.Limits.UsageCap,
		IPUsageCap: ipCap, DataUsed: u.TotalUsed(), IPUsed: u.Usage.IPsUsed,
		Status: statusCode(u.Status), Note: u.Note,
		CreatedAt: u.CreatedAt.Unix(), UpdatedAt: u.UpdatedAt.Unix(),
	}
}

func statusCode(s subgate.Status) int {
	switch s {
	case subgate.StatusDisabled:
		return statusDisabled
	case subgate.StatusBlocked:
		return statusBlocked
	}
	return statusActive
}

// parseStatus reads a status code; who may set blocked (3) is the service's
// rule.
func parseStatus(n *jsonhttp.Number) (subgate.Status, error) {
	v, ok := n.Int()
	switch {
	case ok && v == statusActive:
		return subgate.StatusActive, nil
	case ok && v == statusDisabled:
		return subgate.StatusDisabled, nil
	case ok && v == statusBlocked:
		return subgate.StatusBlocked, nil
	}
	return "", subgate.Invalidf("status", "must be 1 (active) or 2 (disabled)")
}

// parseUsageCap reads usage_cap bytes; 0 and -1 mean no cap.
func parseUsageCap(n *jsonhttp.Number) (int64, error) {
	v, ok := n.Int()
	switch {
	case !ok:
		return 0, subgate.Invalidf("usage_cap", "must be an integer number of bytes")
	case v == -1:
		return 0, nil
	case v < -1:
		return 0, subgate.Invalidf("usage_cap", "must be a number of bytes (0 or -1 for no cap)")
	}
	return v, nil
}

// parseIPUsageCap reads ip_usage_cap; -1 means unlimited, which the domain
// writes as 0.
func parseIPUsageCap(n *jsonhttp.Number) (int64, error) {
	v, ok := n.Int()
	switch {
	case !ok || v == 0 || v < -1:
		return 0, subgate.Invalidf("ip_usage_cap", "must be -1 (unlimited) or a positive integer")
	case v == -1:
		return 0, nil
	}
	return v, nil
}
