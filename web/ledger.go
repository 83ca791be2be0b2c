package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/subgate/subgate"
)

// ledgerQuery is the ledger page's state, kept in the URL.
type ledgerQuery struct {
	Product string // "" for every product
	SubUser string // a username or id; "" for all
	Kind    string
	Before  int64 // cursor: entries older than this id
}

func (q ledgerQuery) url(base string, before int64) string {
	v := url.Values{}
	for k, s := range map[string]string{"product": q.Product, "subuser": q.SubUser, "kind": q.Kind} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}

// ledgerRow is an entry with the sub-user it is about.
type ledgerRow struct {
	*subgate.LedgerEntry
	Username string // "" for pool movements and deleted sub-users
}

type ledgerView struct {
	Query    ledgerQuery
	Rows     []ledgerRow
	Products []subgate.Product
	Kinds    []subgate.LedgerKind
	NewerURL string // back to the newest entries
	OlderURL string
}

func (s *Server) ledger(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	lq := ledgerQuery{Product: q.Get("product"), SubUser: strings.TrimSpace(q.Get("subuser")), Kind: q.Get("kind")}
	var err error
	if lq.Before, err = strconv.ParseInt(q.Get("before"), 10, 64); err != nil || lq.Before < 0 {
		lq.Before = 0
	}
	v := ledgerView{Query: lq, Products: subgate.Products, Kinds: subgate.LedgerKinds}
	pg := s.newPage(sess, "Ledger", "ledger")
	pg.Data = &v
	pg.Form = q // the filter form shows what it filters by
	f, err := s.ledgerFilter(r.Context(), sess.principal, lq)
	if err != nil {
		// A bad filter is shown at its input, like a bad form.
		if status := statusOf(err); status == http.StatusInternalServerError {
			s.errorPage(w, r, sess, err)
			return
		}
		pg.Error, pg.Fields = subgate.ErrorMessage(err), fieldErrors(err)
		s.render(w, r, statusOf(err), "ledger", pg)
		return
	}
	entries, older, err := s.ledgerPage(r.Context(), sess.principal, f)
	if err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	base := s.path("/ledger")
	if v.Rows, err = s.ledgerRows(r.Context(), sess.principal, entries); err != nil {
		s.errorPage(w, r, sess, err)
		return
	}
	if lq.Before > 0 {
		v.NewerURL = lq.url(base, 0)
	}
	if older > 0 {
		v.OlderURL = lq.url(base, older)
	}
	s.render(w, r, http.StatusOK, "ledger", pg)
}

// ledgerFilter turns the page's query into the domain's filter.
func (s *Server) ledgerFilter(ctx context.Context, p subgate.Principal, lq ledgerQuery) (subgate.LedgerFilter, error) {
	f := subgate.LedgerFilter{Kind: subgate.LedgerKind(lq.Kind), Product: subgate.Product(lq.Product), Before: lq.Before, Limit: perPage}
	if err := f.Validate(); err != nil {
		return f, err
	}
	if lq.SubUser != "" {
		u, err := s.findSubUser(ctx, p, lq.SubUser)
		if subgate.ErrorCode(err) == subgate.ENOTFOUND {
			return f, subgate.Invalidf("subuser", "%s is none of your sub-users", lq.SubUser)
		}
		if err != nil {
			return f, err
		}
		f.SubUserID = u.ID
	}
	return f, nil
}

// ledgerPage reads a page of the filter and the cursor of the page after
// it (0 when none).
func (s *Server) ledgerPage(ctx context.Context, p subgate.Principal, f subgate.LedgerFilter) ([]*subgate.LedgerEntry, int64, error) {
	entries, err := s.svc.Ledger(ctx, p, f)
	if err != nil || len(entries) < f.Limit {
		return entries, 0, err
	}
	return entries, entries[len(entries)-1].ID, nil
}

// ledgerRows names the sub-user of each entry, one look-up per sub-user.
func (s *Server) ledgerRows(ctx context.Context, p subgate.Principal, entries []*subgate.LedgerEntry) ([]ledgerRow, error) {
	names := map[int64]string{}
	rows := make([]ledgerRow, len(entries))
	for i, e := range entries {
		rows[i].LedgerEntry = e
		if e.SubUserID == 0 {
			continue
		}
		name, ok := names[e.SubUserID]
		if !ok {
			u, err := s.svc.SubUser(ctx, p, itoa(e.SubUserID))
			switch {
			case err == nil:
				name = u.Username
			case subgate.ErrorCode(err) != subgate.ENOTFOUND:
				return nil, err
			}
			names[e.SubUserID] = name
		}
		rows[i].Username = name
	}
	return rows, nil
}

// findSubUser finds one of the caller's sub-users by id or username.
func (s *Server) findSubUser(ctx context.Context, p subgate.Principal, ref string) (*subgate.SubUser, error) {
	if _, numeric := subgate.IsNumericRef(ref); numeric {
		if u, err := s.svc.SubUser(ctx, p, ref); err == nil || subgate.ErrorCode(err) != subgate.ENOTFOUND {
			return u, err
		}
	}
	return s.svc.SubUserByUsername(ctx, p, ref)
}
