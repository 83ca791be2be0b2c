package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/subgate/subgate"
)

// updateSelected applies one of the list's bulk actions to the sub-users
// ticked on it, all or none, and goes back to the same page of the list.
// A failure shows that page again with the error and the selection kept.
func (s *Server) updateSelected(w http.ResponseWriter, r *http.Request, sess *session) {
	lq := listQueryOf(r.URL.Query())
	refs := r.PostForm["id"]
	upd, done, err := bulkUpdate(r.PostForm)
	if err == nil && len(refs) == 0 {
		err = subgate.Errorf(subgate.EINVALID, "no sub-user selected: tick the ones to change first")
	}
	if err == nil {
		var us []*subgate.SubUser
		us, err = s.svc.UpdateSubUsers(r.Context(), sess.principal, subgate.SubUserBulkUpdate{Refs: refs, Update: upd})
		if err == nil {
			v := lq.values()
			v.Set("done", "bulk-"+done)
			v.Set("n", strconv.Itoa(len(us)))
			s.redirect(w, r, "/subusers?"+v.Encode())
			return
		}
	}
	if statusOf(err) == http.StatusInternalServerError {
		s.errorPage(w, r, sess, err)
		return
	}
	pg := s.newPage(sess, "Sub-users", "subusers")
	pg.Form, pg.Error, pg.Fields = r.PostForm, subgate.ErrorMessage(err), fieldErrors(err)
	s.renderSubUsers(w, r, sess, lq, statusOf(err), pg)
}

// bulkUpdate reads the chosen action into the update it stands for, and
// the notice that reports it.
func bulkUpdate(f url.Values) (subgate.SubUserUpdate, string, error) {
	var upd subgate.SubUserUpdate
	switch f.Get("action") {
	case "disable":
		st := subgate.StatusDisabled
		upd.Status = &st
		return upd, "disabled", nil
	case "enable":
		st := subgate.StatusActive
		upd.Status = &st
		return upd, "enabled", nil
	case "expiry":
		exp, err := expiryField(f)
		upd.ExpiresAt = &exp
		if exp == nil && err == nil {
			return upd, "expiry-cleared", err
		}
		return upd, "expiry", err
	case "note":
		note := strings.TrimSpace(f.Get("note"))
		upd.Note = &note
		if note == "" {
			return upd, "note-cleared", nil
		}
		return upd, "note", nil
	case "":
		return upd, "", subgate.Invalidf("action", "must be chosen: what to do with the selected sub-users")
	}
	return upd, "", subgate.Invalidf("action", "must be disable, enable, expiry or note")
}
