package ninep

import (
	"net/http"
	"strconv"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// defaultLimit is 9Proxy's page size when limit is not given.
const defaultLimit = 30

// maxPage bounds page so page*limit cannot overflow.
const maxPage = 1_000_000

// sortFields maps 9Proxy's sort_by onto the orders the store keeps indexes for.
var sortFields = map[string]subgate.SubUserSort{
	"id": subgate.SortID, "user_name": subgate.SortUsername, "status": subgate.SortStatus,
	"created_at": subgate.SortCreatedAt, "data_used": subgate.SortUsed,
}

type listResult struct {
	Items      []item `json:"items"`
	TotalItems int64  `json:"total_items"`
	TotalPages int64  `json:"total_pages"`
}

// list answers a page of sub-users.
func (h *handler) list(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	f, err := listFilter(r)
	if err != nil {
		h.failWith(w, r, err)
		return
	}
	res, err := h.svc.SubUsers(r.Context(), p, f)
	if err != nil {
		h.failWith(w, r, err)
		return
	}
	result := listResult{
		Items:      make([]item, 0, len(res.Items)),
		TotalItems: res.Total,
		TotalPages: (res.Total + int64(f.Limit) - 1) / int64(f.Limit),
	}
	for _, u := range res.Items {
		result.Items = append(result.Items, itemOf(u))
	}
	jsonhttp.Write(w, http.StatusOK, response{Success: true, Message: "Success", Result: result})
}

// listFilter reads limit, page, sort_by, order_by and keyword.
func listFilter(r *http.Request) (subgate.SubUserFilter, error) {
	q := r.URL.Query()
	f := subgate.SubUserFilter{Search: q.Get("keyword"), Desc: true, WithTotal: true}
	limit, err := intParam(q.Get("limit"), "limit", defaultLimit, 1, 1000)
	if err != nil {
		return f, err
	}
	page, err := intParam(q.Get("page"), "page", 1, 1, maxPage)
	if err != nil {
		return f, err
	}
	f.Limit, f.Offset = limit, (page-1)*limit
	if s := q.Get("sort_by"); s != "" {
		sort, ok := sortFields[s]
		if !ok {
			return f, subgate.Invalidf("sort_by", "%q is not supported here; use id, user_name, status, created_at or data_used", s)
		}
		f.Sort = sort
	}
	switch q.Get("order_by") {
	case "", "desc", "DESC":
	case "asc", "ASC":
		f.Desc = false
	default:
		return f, subgate.Invalidf("order_by", "must be asc or desc")
	}
	return f, nil
}

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(s, name string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, subgate.Invalidf(name, "must be an integer between %d and %d", lo, hi)
	}
	return n, nil
}
