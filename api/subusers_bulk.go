package api

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"

	"github.com/subgate/subgate"
)

// subUserBulkIn is the body of PATCH /v1/subusers: the sub-users to change
// and the fields of a single PATCH to set on each.
type subUserBulkIn struct {
	SubUsers []bulkRef `json:"subusers"`
	subUserPatchIn
}

// bulkRef is a sub-user reference: a hash, or an id as a number or string.
type bulkRef string

func (r *bulkRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = bulkRef(s)
		return nil
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return subgate.Invalidf("subusers", "must hold ids or hashes")
	}
	*r = bulkRef(strconv.FormatInt(id, 10))
	return nil
}

// subUserBulkJSON answers a bulk update: every sub-user changed, by id.
type subUserBulkJSON struct {
	Items []subUserJSON `json:"items"`
}

func (s *Server) updateSubUsers(ctx context.Context, r *request) (response, error) {
	var in subUserBulkIn
	if err := r.decode(&in, false); err != nil {
		return response{}, err
	}
	upd, err := in.update()
	if err != nil {
		return response{}, err
	}
	b := subgate.SubUserBulkUpdate{Refs: make([]string, len(in.SubUsers)), Update: upd, Limits: in.Limits}
	for i, ref := range in.SubUsers {
		b.Refs[i] = string(ref)
	}
	us, err := s.svc.UpdateSubUsers(ctx, r.principal, b)
	if err != nil {
		return response{}, err
	}
	out := subUserBulkJSON{Items: make([]subUserJSON, len(us))}
	for i, u := range us {
		out.Items[i] = s.subUserJSON(u)
	}
	return ok(out)
}
