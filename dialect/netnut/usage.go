package netnut

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// refList is the subUsers field: an array of ids or hashes (numbers or
// strings), or one comma-separated string of them.
type refList []string

func (l *refList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				*l = append(*l, part)
			}
		}
		return nil
	}
	var raw []json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[refList]()}
	}
	for _, item := range raw {
		var n json.Number
		if json.Unmarshal(item, &s) == nil {
			*l = append(*l, strings.TrimSpace(s))
		} else if json.Unmarshal(item, &n) == nil {
			*l = append(*l, n.String())
		} else {
			return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[refList]()}
		}
	}
	return nil
}

type usageRequest struct {
	DateRange *string `json:"dateRange"`
	BySubUser *bool   `json:"bySubUser"`
	SubUsers  refList `json:"subUsers"`
	// What some clients send for dateRange and subUsers.
	DateRangeAlias *string `json:"date_range"`
	SubUsersAlias  refList `json:"subscribers"`
}

// merged folds the aliases into the documented fields; both given with
// different values is an error naming the alias.
func (req *usageRequest) merged() error {
	if req.DateRangeAlias != nil {
		if req.DateRange != nil && *req.DateRange != *req.DateRangeAlias {
			return subgate.Invalidf("date_range", "differs from dateRange (give one of them)")
		}
		req.DateRange = req.DateRangeAlias
	}
	if len(req.SubUsersAlias) > 0 {
		if len(req.SubUsers) > 0 {
			return subgate.Invalidf("subscribers", "is given beside subUsers (give one of them)")
		}
		req.SubUsers = req.SubUsersAlias
	}
	return nil
}

// usageRow is one day of one product's usage, of one sub-user when asked
// bySubUser, otherwise summed over the selected sub-users.
type usageRow struct {
	Date              string          `json:"date"`
	SubUserID         int64           `json:"sub_user_id,omitempty"`
	CustomerLoginName string          `json:"customer_login_name,omitempty"`
	ProductType       subgate.Product `json:"product_type"`
	UsageBytes        int64           `json:"usage_bytes"`
	UsageGB           float64         `json:"usage_gb"`
}

type usageResponse struct {
	Success    bool       `json:"success"`
	Data       []usageRow `json:"data"`
	TotalBytes int64      `json:"total_bytes"`
	TotalGB    float64    `json:"total_gb"`
}

// usage answers daily usage over dateRange (both days included).
func (h *handler) usage(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req usageRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	if err := req.merged(); err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	from, to, err := h.parseDateRange(req.DateRange)
	if err != nil {
		h.failWith(w, r, err, nil)
		return
	}
	names := map[int64]string{}
	q := subgate.UsageQuery{From: from, To: to, Granularity: subgate.GranularityDay, BySubUser: req.BySubUser != nil && *req.BySubUser}
	for _, ref := range req.SubUsers {
		u, err := h.subUserByRef(r, p, ref)
		if err != nil {
			h.failWith(w, r, err, nil)
			return
		}
		q.SubUserIDs = append(q.SubUserIDs, u.ID)
		names[u.ID] = u.Username
	}
	points, err := h.svc.Usage(r.Context(), p, q)
	if err != nil {
		h.failWith(w, r, err, map[string]string{"from": "dateRange", "to": "dateRange"})
		return
	}
	resp := usageResponse{Success: true, Data: make([]usageRow, 0, len(points))}
	for _, pt := range points {
		row := usageRow{
			Date: pt.Time.In(h.location()).Format(time.DateOnly), ProductType: pt.Product,
			UsageBytes: pt.Bytes, UsageGB: subgate.BytesToGB(pt.Bytes),
		}
		if q.BySubUser {
			row.SubUserID, row.CustomerLoginName = pt.SubUserID, h.loginName(r, p, names, pt.SubUserID)
		}
		resp.Data = append(resp.Data, row)
		resp.TotalBytes += pt.Bytes
	}
	resp.TotalGB = subgate.BytesToGB(resp.TotalBytes)
	jsonhttp.Write(w, http.StatusOK, resp)
}

// subUserByRef finds a sub-user by id, hash or login name (NetNut clients
// name sub-users either way).
func (h *handler) subUserByRef(r *http.Request, p subgate.Principal, ref string) (*subgate.SubUser, error) {
	u, err := h.svc.SubUser(r.Context(), p, ref)
	if subgate.ErrorCode(err) == subgate.ENOTFOUND {
		if byName, err2 := h.svc.SubUserByUsername(r.Context(), p, ref); err2 == nil {
			return byName, nil
		}
	}
	return u, err
}

// loginName finds a sub-user's proxy username for a usage row, remembering
// it; a sub-user deleted since has none.
func (h *handler) loginName(r *http.Request, p subgate.Principal, names map[int64]string, id int64) string {
	if name, ok := names[id]; ok {
		return name
	}
	if u, err := h.svc.SubUser(r.Context(), p, strconv.FormatInt(id, 10)); err == nil {
		names[id] = u.Username
	} else {
		names[id] = ""
	}
	return names[id]
}

func (h *handler) location() *time.Location {
	if h.svc.Windows.Location != nil {
		return h.svc.Windows.Location
	}
	return time.UTC
}

// parseDateRange reads "YYYY-MM-DD,YYYY-MM-DD" into [start of first day,
// start of the day after the last day) in the service's day windows.
func (h *handler) parseDateRange(s *string) (from, to time.Time, err error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return from, to, subgate.Invalidf("dateRange", "is required (YYYY-MM-DD,YYYY-MM-DD)")
	}
	first, last, ok := strings.Cut(*s, ",")
	if !ok {
		return from, to, subgate.Invalidf("dateRange", "must be two dates: YYYY-MM-DD,YYYY-MM-DD")
	}
	from, err1 := time.ParseInLocation(time.DateOnly, strings.TrimSpace(first), h.location())
	end, err2 := time.ParseInLocation(time.DateOnly, strings.TrimSpace(last), h.location())
	if err1 != nil || err2 != nil {
		return from, to, subgate.Invalidf("dateRange", "must be two dates: YYYY-MM-DD,YYYY-MM-DD")
	}
	if end.Before(from) {
		return from, to, subgate.Invalidf("dateRange", "must not end before it starts")
	}
	return from, end.AddDate(0, 0, 1), nil
}
