package iproyal

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// defaultPerPage is IPRoyal's page size when per_page is not given.
const defaultPerPage = 20

// maxPage bounds page so page*per_page cannot overflow.
const maxPage = 1_000_000

type listResponse struct {
	Data []resource `json:"data"`
	Meta listMeta   `json:"meta"`
}

// listMeta is Laravel's paginator metadata.
type listMeta struct {
	CurrentPage int    `json:"current_page"`
	From        *int   `json:"from"`
	LastPage    int    `json:"last_page"`
	Path        string `json:"path"`
	PerPage     int    `json:"per_page"`
	To          *int   `json:"to"`
	Total       int64  `json:"total"`
}

// list answers a page of sub-users, searched by username.
func (h *handler) list(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	page, perPage, err := pageParams(r)
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	res, err := h.svc.SubUsers(r.Context(), p, subgate.SubUserFilter{
		Search: r.URL.Query().Get("search"), Limit: perPage, Offset: (page - 1) * perPage, WithTotal: true,
	})
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	resp := listResponse{Data: make([]resource, 0, len(res.Items))}
	for _, u := range res.Items {
		resp.Data = append(resp.Data, resourceOf(u))
	}
	resp.Meta = newListMeta(r, page, perPage, res.Total, len(resp.Data))
	jsonhttp.Write(w, http.StatusOK, resp)
}

// newListMeta describes page of perPage items holding n of total.
func newListMeta(r *http.Request, page, perPage int, total int64, n int) listMeta {
	m := listMeta{
		CurrentPage: page, PerPage: perPage, Total: total, Path: pagePath(r),
		LastPage: max(1, int((total+int64(perPage)-1)/int64(perPage))),
	}
	if n > 0 {
		from, to := (page-1)*perPage+1, (page-1)*perPage+n
		m.From, m.To = &from, &to
	}
	return m
}

// pageParams reads Laravel's page and per_page.
func pageParams(r *http.Request) (page, perPage int, err error) {
	q := r.URL.Query()
	if page, err = intParam(q.Get("page"), "page", 1, 1, maxPage); err != nil {
		return 0, 0, err
	}
	perPage, err = intParam(q.Get("per_page"), "per_page", defaultPerPage, 1, 1000)
	return page, perPage, err
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

// pagePath is the absolute URL of the list without its query, as the client
// addressed it (the mount prefix included).
func pagePath(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if fwd := r.Header.Get("X-Forwarded-Proto"); fwd == "https" || fwd == "http" {
		scheme = fwd
	}
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if path == "" || !strings.HasPrefix(path, "/") {
		path = r.URL.Path
	}
	return scheme + "://" + r.Host + path
}
