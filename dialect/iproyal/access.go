package iproyal

import (
	"crypto/rand"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/internal/jsonhttp"
)

// IPRoyal's names for the gateway's two protocols.
const (
	portHTTP   = "http|https"
	portSOCKS5 = "socks5"
)

type entryNodePort struct {
	Name             string `json:"name"`
	Port             int    `json:"port"`
	AlternativePorts []int  `json:"alternative_ports"`
}

type entryNode struct {
	DNS   string          `json:"dns"`
	IPs   []string        `json:"ips"`
	Ports []entryNodePort `json:"ports"`
}

// gateway is the public gateway address as a client of this API sees it.
func (h *handler) gateway(r *http.Request) subgate.GatewayAddress {
	return h.svc.PublicGateway.ForHost(r.Host)
}

// entryNodes answers the one entry node there is: this gateway.
func (h *handler) entryNodes(w http.ResponseWriter, r *http.Request, _ subgate.Principal) {
	a := h.gateway(r)
	nodes := []entryNode{}
	if a.Enabled() {
		n := entryNode{DNS: a.Host, IPs: []string{}, Ports: []entryNodePort{}}
		if isIP(a.Host) {
			n.IPs = append(n.IPs, a.Host)
		}
		if a.HTTPPort != 0 {
			n.Ports = append(n.Ports, entryNodePort{Name: portHTTP, Port: a.HTTPPort, AlternativePorts: []int{}})
		}
		if a.SOCKSPort != 0 {
			n.Ports = append(n.Ports, entryNodePort{Name: portSOCKS5, Port: a.SOCKSPort, AlternativePorts: []int{}})
		}
		nodes = append(nodes, n)
	}
	jsonhttp.Write(w, http.StatusOK, nodes)
}

type optionsGroup struct {
	Prefix  string `json:"prefix"`
	Options []any  `json:"options"`
}

type countryOption struct {
	Code   string       `json:"code"`
	Name   string       `json:"name"`
	Cities optionsGroup `json:"cities"`
	States optionsGroup `json:"states"`
}

type countriesResponse struct {
	Prefix    string          `json:"prefix"`
	Countries []countryOption `json:"countries"`
}

// countries answers every country the gateway takes, with IPRoyal's
// prefixes. Cities and states are free text here, so their lists are empty.
func (h *handler) countries(w http.ResponseWriter, _ *http.Request, _ subgate.Principal) {
	resp := countriesResponse{Prefix: "_country-"}
	for _, c := range subgate.TargetCountries() {
		resp.Countries = append(resp.Countries, countryOption{
			Code: c.Code, Name: c.Name,
			Cities: optionsGroup{Prefix: "_city-", Options: []any{}},
			States: optionsGroup{Prefix: "_state-", Options: []any{}},
		})
	}
	jsonhttp.Write(w, http.StatusOK, resp)
}

// MaxProxyListLines bounds one generated proxy list; more is refused, never
// generated.
const MaxProxyListLines = 10_000

// defaultListFormat is IPRoyal's first documented format.
const defaultListFormat = "{hostname}:{port}:{username}:{password}"

type proxyListRequest struct {
	Format      *string          `json:"format"`
	Hostname    *string          `json:"hostname"`
	Port        *string          `json:"port"`
	Rotation    *string          `json:"rotation"`
	Location    *string          `json:"location"`
	Lifetime    *string          `json:"lifetime"`
	ProxyCount  *jsonhttp.Number `json:"proxy_count"`
	SubuserHash *string          `json:"subuser_hash"`
	Username    *string          `json:"username"`
	Password    *string          `json:"password"`
}

// proxyList is a validated request: everything needed to write the lines.
type proxyList struct {
	format string
	host   string
	port   int
	sticky bool
	target subgate.Target
	count  int
}

// generateProxyList answers proxy lines for this gateway in the asked
// format, with the targeting in IPRoyal's password syntax; sticky lines each
// get their own 8-character session.
func (h *handler) generateProxyList(w http.ResponseWriter, r *http.Request, p subgate.Principal) {
	var req proxyListRequest
	if err := jsonhttp.Decode(r, &req); err != nil {
		h.failWith(w, r, err, "")
		return
	}
	list, err := req.validate(h.gateway(r))
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	u, err := h.proxyUser(r, p, &req)
	if err != nil {
		h.failWith(w, r, err, "")
		return
	}
	lines := make([]string, 0, list.count)
	for range list.count {
		t := list.target
		if list.sticky {
			t.Session = rand.Text()[:8]
		}
		lines = append(lines, list.line(u.Username, subgate.TargetedPassword(u.Password, t)))
	}
	jsonhttp.Write(w, http.StatusOK, lines)
}

// proxyUser is the sub-user whose credentials the lines carry: named by
// subuser_hash, or by username and password.
func (h *handler) proxyUser(r *http.Request, p subgate.Principal, req *proxyListRequest) (*subgate.SubUser, error) {
	if req.SubuserHash != nil && *req.SubuserHash != "" {
		u, err := h.svc.SubUser(r.Context(), p, *req.SubuserHash)
		if subgate.ErrorCode(err) == subgate.ENOTFOUND {
			return nil, subgate.Invalidf("subuser_hash", "is not a sub-user of this account")
		}
		return u, err
	}
	if req.Username == nil || *req.Username == "" {
		return nil, subgate.Invalidf("subuser_hash", "is required when username is not present (proxies here belong to sub-users)")
	}
	if req.Password == nil || *req.Password == "" {
		return nil, subgate.Invalidf("password", "is required when username is present")
	}
	u, err := h.svc.SubUserByUsername(r.Context(), p, *req.Username)
	if subgate.ErrorCode(err) == subgate.ENOTFOUND {
		return nil, subgate.Invalidf("username", "is not a sub-user of this account")
	}
	if err != nil {
		return nil, err
	}
	if !subgate.EqualSecret(u.Password, *req.Password) {
		return nil, subgate.Invalidf("password", "does not match the sub-user's password")
	}
	return u, nil
}

// placeholderRE finds the placeholders of a format.
var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// validate checks the request as IPRoyal does and fills in its defaults.
func (req *proxyListRequest) validate(a subgate.GatewayAddress) (proxyList, error) {
	var l proxyList
	if !a.Enabled() {
		return l, subgate.Invalidf("port", "cannot be served: no proxy gateway runs with this server")
	}
	l.format = value(req.Format, defaultListFormat)
	for _, ph := range placeholderRE.FindAllString(l.format, -1) {
		switch ph {
		case "{hostname}", "{port}", "{username}", "{password}":
		default:
			return l, subgate.Invalidf("format", "has an unknown placeholder %s (use {hostname}, {port}, {username}, {password})", ph)
		}
	}
	if !strings.Contains(l.format, "{hostname}") || !strings.Contains(l.format, "{port}") {
		return l, subgate.Invalidf("format", "must contain {hostname} and {port}")
	}
	if err := req.hostname(a.Host); err != nil {
		return l, err
	}
	l.host = a.Host
	portName := value(req.Port, portHTTP)
	switch portName {
	case portHTTP:
		l.port = a.HTTPPort
	case portSOCKS5:
		l.port = a.SOCKSPort
	default:
		return l, subgate.Invalidf("port", "must be %q or %q", portHTTP, portSOCKS5)
	}
	if l.port == 0 {
		return l, subgate.Invalidf("port", "%s is not served by this gateway", portName)
	}
	switch value(req.Rotation, "random") {
	case "random":
	case "sticky":
		l.sticky = true
	default:
		return l, subgate.Invalidf("rotation", "must be sticky or random")
	}
	var err error
	if l.target, err = locationTarget(value(req.Location, "")); err != nil {
		return l, err
	}
	if lt := value(req.Lifetime, ""); lt != "" {
		if !l.sticky {
			return l, subgate.Invalidf("lifetime", "is only for sticky rotation")
		}
		if !lifetimeRE.MatchString(lt) {
			return l, subgate.Invalidf("lifetime", "must be a number with one unit s, m, h or d, e.g. 30m")
		}
		if l.target.SessionTTL, err = subgate.ParseSessionTTL(lt); err != nil {
			return l, subgate.Invalidf("lifetime", "must be between 1s and 7d")
		}
	}
	if req.ProxyCount == nil {
		return l, subgate.Invalidf("proxy_count", "is required")
	}
	n, ok := req.ProxyCount.Int()
	if !ok || n < 1 {
		return l, subgate.Invalidf("proxy_count", "must be a whole number of at least 1")
	}
	if n > MaxProxyListLines {
		return l, subgate.Invalidf("proxy_count", "must not be greater than %d (ask for several lists)", MaxProxyListLines)
	}
	l.count = int(n)
	return l, nil
}

// lifetimeRE is IPRoyal's lifetime: a number and one unit.
var lifetimeRE = regexp.MustCompile(`^[0-9]+[smhd]$`)

// hostname accepts this gateway's host or one of IPRoyal's own entry nodes
// (a script written for IPRoyal names one): both get lines for this gateway.
func (req *proxyListRequest) hostname(ours string) error {
	h := strings.ToLower(value(req.Hostname, ours))
	if h == strings.ToLower(ours) || h == "iproyal.com" || strings.HasSuffix(h, ".iproyal.com") {
		return nil
	}
	return subgate.Invalidf("hostname", "must be an entry node of GET /access/entry-nodes (%s)", ours)
}

// locationTarget reads IPRoyal's location, e.g. "_country-us_city-berlin":
// only where a connection goes, not its session.
func locationTarget(loc string) (subgate.Target, error) {
	if loc == "" {
		return subgate.Target{}, nil
	}
	if !strings.HasPrefix(loc, "_") {
		return subgate.Target{}, subgate.Invalidf("location", "must start with '_', e.g. _country-us")
	}
	_, t, err := subgate.ParseProxyPassword("x" + loc)
	if err != nil {
		return subgate.Target{}, subgate.Invalidf("location", "%s", err.Error())
	}
	if t.Session != "" || t.SessionTTL != 0 {
		return subgate.Target{}, subgate.Invalidf("location", "must not hold a session or lifetime (use rotation and lifetime)")
	}
	return t, nil
}

// line writes one proxy in the list's format. A format that is a URL gets
// the credentials percent-encoded; IPRoyal's plain formats get them as is.
func (l proxyList) line(user, pass string) string {
	if strings.Contains(l.format, "://") {
		cred := url.UserPassword(user, pass).String()
		user, pass, _ = strings.Cut(cred, ":")
	}
	return strings.NewReplacer(
		"{hostname}", l.host, "{port}", itoa(l.port), "{username}", user, "{password}", pass,
	).Replace(l.format)
}

func isIP(s string) bool { return net.ParseIP(s) != nil }

func itoa(n int) string { return strconv.Itoa(n) }

func value(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}
