package ninep

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// defaultLimit is 9Proxy's page size when limit is not given.
const defaultLimit = 30

// maxPage bounds page so page*limit cannot overflow.
const maxPage = 1_000_000

// sortFields maps 9Proxy's sort_by onto the store's orders; use_key (the
// proxy password, sealed in the store) is sorted here instead.
var sortFields = map[string]subgate.SubUserSort{
	"id": subgate.SortID, "user_name": subgate.SortUsername, "status": subgate.SortStatus,
	"created_at": subgate.SortCreatedAt, "data_used": subgate.SortUsed, "usage_cap": subgate.SortUsageCap,
	"ip_usage_cap": subgate.SortIPCap, "ip_used": subgate.SortIPUsed, "use_key": sortUseKey,
}

// sortUseKey marks the order the dialect sorts itself.
const sortUseKey subgate.SubUserSort = "use_key"

// maxUseKeySort bounds how many sub-users a use_key order reads to sort.
const maxUseKeySort = 10_000

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
	var res *subgate.SubUserPage
	if f.Sort == sortUseKey {
		res, err = h.byUseKey(r, p, f)
	} else {
		res, err = h.svc.SubUsers(r.Context(), p, f)
	}
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
			return f, subgate.Invalidf("sort_by", "must be one of id, user_name, status, created_at, use_key, usage_cap, data_used, ip_usage_cap or ip_used")
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

// byUseKey answers a page in use_key order: the passwords are sealed in the
// store, so the caller's matching sub-users (at most maxUseKeySort) are read
// in id order and sorted here, ties by id.
func (h *handler) byUseKey(r *http.Request, p subgate.Principal, f subgate.SubUserFilter) (*subgate.SubUserPage, error) {
	all := []*subgate.SubUser{}
	q := f
	q.Sort, q.Desc, q.Limit, q.Offset, q.WithTotal = subgate.SortID, false, 1000, 0, false
	for {
		page, err := h.svc.SubUsers(r.Context(), p, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if len(all) > maxUseKeySort {
			return nil, subgate.Invalidf("sort_by", "use_key sorts at most %d sub-users; narrow the list with keyword", maxUseKeySort)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	slices.SortStableFunc(all, func(a, b *subgate.SubUser) int {
		c := cmp.Or(cmp.Compare(a.Password, b.Password), cmp.Compare(a.ID, b.ID))
		if f.Desc {
			return -c
		}
		return c
	})
	from, to := min(f.Offset, len(all)), min(f.Offset+f.Limit, len(all))
	return &subgate.SubUserPage{Items: all[from:to], Total: int64(len(all))}, nil
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
