package iproyal

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/oklog/ulid/v2"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// whitelistEntry is IPRoyal's WhitelistEntryResource. Here an entry is one
// address of a sub-user's client IP allow-list: a whitelisted address
// connects to any gateway port without a password, as that sub-user and
// without targeting, so configuration is always empty and notes are not
// kept.
type whitelistEntry struct {
	Hash          string  `json:"hash"`
	IP            string  `json:"ip"`
	Port          int     `json:"port"`
	Type          string  `json:"type"`
	Configuration string  `json:"configuration"`
	Note          *string `json:"note"`
}

type whitelistPage struct {
	Data []whitelistEntry `json:"data"`
	Meta listMeta         `json:"meta"`
}

type whitelistRequest struct {
	IP            *string          `json:"ip"`
	Port          *jsonhttp.Number `json:"port"`
	Configuration *string          `json:"configuration"`
	Note          *string          `json:"note"`
}

// whitelistOwner is the sub-user named by {residential_user_hash}. The
// account's own hash (GET /me) has no proxy user here: its entries would
// belong to nobody, so it is refused with a hint.
func (h *handler) whitelistOwner(r *http.Request, p subgate.Principal) (*subgate.SubUser, error) {
	ref := r.PathValue("user")
	if reseller, _, err := h.svc.Me(r.Context(), p); err == nil && ref == resellerHash(reseller) {
		return nil, &subgate.Error{Code: subgate.ENOTFOUND,
			Message: "whitelist entries belong to sub-users here: use a sub-user's hash as residential_user_hash"}
	}
	return h.svc.SubUser(r.Context(), p, ref)
}

// entryHash derives a stable ULID-shaped hash for one allow-list entry.
func entryHash(u *subgate.SubUser, prefix netip.Prefix) string {
	sum := sha256.Sum256([]byte("allow:" + strconv.FormatInt(u.ID, 10) + ":" + prefix.String()))
	id, err := ulid.New(ulid.Timestamp(u.CreatedAt), bytes.NewReader(sum[:10]))
	if err != nil {
		id, _ = ulid.New(0, bytes.NewReader(sum[:10]))
	}
	return id.String()
}

func (h *handler) entryOf(r *http.Request, u *subgate.SubUser, prefix netip.Prefix) whitelistEntry {
	ip := prefix.String()
	if prefix.IsSingleIP() {
		ip = prefix.Addr().String()
	}
	a := h.gateway(r)
	port := a.HTTPPort
	if port == 0 {
		port = a.SOCKSPort
	}
	return whitelistEntry{Hash: entryHash(u, prefix), IP: ip, Port: port, Type: portHTTP}
}

// entry is the sub-user and the allow-list entry the path names.
func (h *handler) entry(r *http.Request, p subgate.Principal) (*subgate.SubUser, netip.Prefix, error) {
	u, err := h.whitelistOwner(r, p)
	if err != nil {
		return nil, netip.Prefix{}, err
	}
	for _, prefix := range u.AllowIPs {
		if entryHash(u, prefix) == r.PathValue("entry") {
			return u, prefix, nil
		}
	}
	return nil, netip.Prefix{}, subgate.NotFound("whitelist entry")
}

func (h *handler) listWhitelist(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	page, perPage, err := pageParams(r)
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	u, err := h.whitelistOwner(r, p)
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	resp := whitelistPage{Data: []whitelistEntry{}}
	start := min((page-1)*perPage, len(u.AllowIPs))
	for _, prefix := range u.AllowIPs[start:min(start+perPage, len(u.AllowIPs))] {
		resp.Data = append(resp.Data, h.entryOf(r, u, prefix))
	}
	resp.Meta = newListMeta(r, page, perPage, int64(len(u.AllowIPs)), len(resp.Data))
	jsonhttp.Write(w, http.StatusOK, resp)
}

func (h *handler) getWhitelist(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	u, prefix, err := h.entry(r, p)
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	jsonhttp.Write(w, http.StatusOK, h.entryOf(r, u, prefix))
}

// decodeEntry reads a create or update body; configuration is checked for
// both.
func decodeEntry(r *http.Request) (whitelistRequest, error) {
	var req whitelistRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		return req, err
	}
	return req, checkConfiguration(req.Configuration)
}

// createWhitelist adds the ip to the sub-user's allow-list.
func (h *handler) createWhitelist(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	req, err := decodeEntry(r)
	if err == nil && (req.IP == nil || *req.IP == "") {
		err = subgate.Invalidf("ip", "is required")
	}
	var prefix netip.Prefix
	if err == nil {
		prefix, err = subgate.ParseAllowIP("ip", *req.IP)
	}
	if err == nil {
		err = h.checkEntryPort(r, req.Port)
	}
	var u *subgate.SubUser
	if err == nil {
		u, err = h.whitelistOwner(r, p)
	}
	if err == nil {
		u, err = h.svc.AddAllowIP(r.Context(), p, u.Hash, "ip", prefix)
	}
	if err != nil {
		h.failWith(w, r, err, "ip")
		return
	}
	jsonhttp.Write(w, http.StatusCreated, h.entryOf(r, u, prefix))
}

// updateWhitelist takes configuration and note, as IPRoyal's update does;
// neither is kept here, so it validates them and answers the entry.
func (h *handler) updateWhitelist(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	if _, err := decodeEntry(r); err != nil {
		h.failWith(w, r, err, "")
		return
	}
	h.getWhitelist(w, r, p)
}

func (h *handler) deleteWhitelist(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	u, prefix, err := h.entry(r, p)
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	if _, err := h.svc.RemoveAllowIP(r.Context(), p, u.Hash, prefix); err != nil {
		h.failWith(w, r, err, "")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkEntryPort requires the port to be one of this gateway's: a
// whitelisted address may use either.
func (h *handler) checkEntryPort(r *http.Request, port *jsonhttp.Number) error {
	if port == nil {
		return subgate.Invalidf("port", "is required")
	}
	a := h.gateway(r)
	n, ok := port.Int()
	if !ok || n < 1 || (n != int64(a.HTTPPort) && n != int64(a.SOCKSPort)) {
		if a.HTTPPort == a.SOCKSPort {
			return subgate.Invalidf("port", "must be the port of GET /access/entry-nodes (%d)", a.HTTPPort)
		}
		return subgate.Invalidf("port", "must be a port of GET /access/entry-nodes (%d or %d)", a.HTTPPort, a.SOCKSPort)
	}
	return nil
}

// checkConfiguration accepts a configuration without targeting (empty, or
// only settings nothing here honours, such as _streaming-1): whitelisted
// connections carry no targeting here, and dropping one silently would send
// traffic somewhere else than asked.
func checkConfiguration(c *string) error {
	if c == nil || *c == "" {
		return nil
	}
	t, err := locationTarget(*c)
	if err != nil {
		return subgate.Invalidf("configuration", "%s", err.(*subgate.Error).Message)
	}
	if t != (subgate.Target{}) {
		return subgate.Invalidf("configuration", "must not target: whitelisted addresses connect without targeting here (put it in the proxy password instead)")
	}
	return nil
}
