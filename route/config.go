package route

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// Kind says where a route's connections leave from.
type Kind string

const (
	KindDirect   Kind = "direct"   // from the gateway host, optionally from chosen source addresses
	KindUpstream Kind = "upstream" // through upstream proxies
	KindStatic   Kind = "static"   // from an inventory of static egress IPs
)

// Pick says how a connection without a sticky session chooses its egress.
type Pick string

const (
	PickRoundRobin Pick = "round_robin"
	PickLeastConn  Pick = "least_conn"
)

// Protocol of an upstream proxy.
const (
	ProtocolHTTP   = "http"   // HTTP CONNECT
	ProtocolSOCKS5 = "socks5" // SOCKS5 with username/password
)

// Config is the admin's routing configuration. It is plain JSON so an admin
// API can read and replace it; Router.Reload swaps it at run time.
type Config struct {
	// DefaultProduct is used when a connection names no product (default res).
	DefaultProduct subgate.Product `json:"default_product,omitempty"`
	// SessionTTL is how long a sticky session keeps its egress when the
	// client gives no ttl (default 10m); MaxSessionTTL caps what a client may
	// ask for (default 24h).
	SessionTTL    Duration `json:"session_ttl,omitempty"`
	MaxSessionTTL Duration `json:"max_session_ttl,omitempty"`
	// MaxSessions bounds the sticky-session table (default 100000).
	MaxSessions int `json:"max_sessions,omitempty"`
	// DialTimeout bounds one attempt to reach an egress (default 10s).
	DialTimeout Duration `json:"dial_timeout,omitempty"`
	// UnhealthyBackoff is how long a failed upstream is skipped (default 30s);
	// it doubles on consecutive failures up to MaxBackoff (default 5m).
	UnhealthyBackoff Duration `json:"unhealthy_backoff,omitempty"`
	MaxBackoff       Duration `json:"max_backoff,omitempty"`
	// AllowPrivateTargets lets direct and static-local-IP routes connect to
	// loopback, private, link-local and CGNAT targets (the gateway host, its
	// networks). Off by default: a sub-user must not reach the admin API on
	// 127.0.0.1 or anything else behind the gateway.
	AllowPrivateTargets bool `json:"allow_private_targets,omitempty"`
	// Routes maps each product to its route. A product without a route is refused.
	Routes map[subgate.Product]Route `json:"routes"`
}

// Route is how the connections of one product leave the gateway.
type Route struct {
	Kind Kind `json:"kind"`
	Pick Pick `json:"pick,omitempty"` // default round_robin
	// SourceAddrs (direct) are local IP addresses to connect from; empty
	// means the system's choice.
	SourceAddrs []string `json:"source_addrs,omitempty"`
	// Upstreams (upstream) are alternatives; each connection uses one.
	Upstreams []Upstream `json:"upstreams,omitempty"`
	// Static (static) is a shared inventory of egress IPs.
	Static []StaticEgress `json:"static,omitempty"`
	// Dedicated (static) routes each sub-user only through the static IPs
	// allocated to it in the store, never through the shared inventory.
	Dedicated bool `json:"dedicated,omitempty"`
}

// Proxy is one upstream proxy server and how to address it.
type Proxy struct {
	Protocol string `json:"protocol"` // http or socks5
	Address  string `json:"address"`  // host:port
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Preset rewrites the connection's targeting into the upstream's syntax:
	// netnut, iproyal, generic, or "" to send the credentials unchanged.
	Preset Preset `json:"preset,omitempty"`
	// UserTemplate and PasswordTemplate, when set, replace the preset's
	// rewriting of that credential (see Template for the syntax).
	UserTemplate     string `json:"user_template,omitempty"`
	PasswordTemplate string `json:"password_template,omitempty"`
	// ProductToken replaces the product name in rewritten credentials
	// (e.g. "res" for a route serving mob through a residential account).
	ProductToken string `json:"product_token,omitempty"`
}

// Upstream is a proxy, optionally reached through a chain of other proxies.
type Upstream struct {
	Name string `json:"name"` // unique within the route; used in metrics
	Proxy
	Via []Proxy `json:"via,omitempty"` // proxies traversed, in order, before this one
}

// StaticEgress is one static IP of the inventory: a local source address or
// an upstream static proxy.
type StaticEgress struct {
	ID          string `json:"id,omitempty"`      // defaults to the address or proxy host:port
	Address     string `json:"address,omitempty"` // local source IP
	Proxy       string `json:"proxy,omitempty"`   // [socks5://|http://]host:port:user:pass
	Country     string `json:"country,omitempty"` // ISO alpha-2, lower case
	AccessPoint string `json:"access_point,omitempty"`
}

// Duration is a time.Duration written in JSON as "10m" (or a number of seconds).
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "90s", "10m" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q (want e.g. \"30s\", \"10m\")", s)
		}
		*d = Duration(v)
		return nil
	}
	secs, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("invalid duration %s (want e.g. \"30s\" or a number of seconds)", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// Load reads a JSON configuration file and validates it.
func Load(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := Parse(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a JSON configuration strictly (unknown fields are errors) and validates it.
func Parse(b []byte, c *Config) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return subgate.Invalidf("config", "is not valid JSON: %v", err)
	}
	return c.Validate()
}

// Defaults for unset configuration fields.
const (
	DefaultSessionTTL       = 10 * time.Minute
	DefaultMaxSessionTTL    = 24 * time.Hour
	DefaultMaxSessions      = 100_000
	DefaultDialTimeout      = 10 * time.Second
	DefaultUnhealthyBackoff = 30 * time.Second
	DefaultMaxBackoff       = 5 * time.Minute
)

// Validate checks the configuration and fills defaults. Errors name the
// offending field, e.g. routes.res.upstreams[1].address.
func (c *Config) Validate() error {
	if c.DefaultProduct == "" {
		c.DefaultProduct = subgate.ProductResidential
	}
	if p, err := subgate.ParseProduct(string(c.DefaultProduct)); err != nil || p == subgate.ProductAny {
		return subgate.Invalidf("default_product", "must be one of res, dc, stc, mob")
	}
	for _, d := range []struct {
		name string
		v    *Duration
		def  time.Duration
	}{
		{"session_ttl", &c.SessionTTL, DefaultSessionTTL},
		{"max_session_ttl", &c.MaxSessionTTL, DefaultMaxSessionTTL},
		{"dial_timeout", &c.DialTimeout, DefaultDialTimeout},
		{"unhealthy_backoff", &c.UnhealthyBackoff, DefaultUnhealthyBackoff},
		{"max_backoff", &c.MaxBackoff, DefaultMaxBackoff},
	} {
		if *d.v < 0 {
			return subgate.Invalidf(d.name, "must not be negative")
		}
		if *d.v == 0 {
			*d.v = Duration(d.def)
		}
	}
	if c.SessionTTL > c.MaxSessionTTL {
		return subgate.Invalidf("session_ttl", "must not exceed max_session_ttl (%s)", time.Duration(c.MaxSessionTTL))
	}
	if c.MaxBackoff < c.UnhealthyBackoff {
		return subgate.Invalidf("max_backoff", "must not be shorter than unhealthy_backoff")
	}
	if c.MaxSessions < 0 {
		return subgate.Invalidf("max_sessions", "must not be negative")
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if len(c.Routes) == 0 {
		return subgate.Invalidf("routes", "must configure at least one product")
	}
	for p, r := range c.Routes {
		field := "routes." + string(p)
		if q, err := subgate.ParseProduct(string(p)); err != nil || q == subgate.ProductAny || q != p {
			return subgate.Invalidf(field, "is not a product (want res, dc, stc or mob, lower case)")
		}
		if err := r.validate(field); err != nil {
			return err
		}
		c.Routes[p] = r
	}
	return nil
}

func (r *Route) validate(field string) error {
	switch r.Pick {
	case "":
		r.Pick = PickRoundRobin
	case PickRoundRobin, PickLeastConn:
	default:
		return subgate.Invalidf(field+".pick", "must be round_robin or least_conn")
	}
	switch r.Kind {
	case KindDirect:
		return validateSources(field+".source_addrs", r.SourceAddrs)
	case KindUpstream:
		return validateUpstreams(field+".upstreams", r.Upstreams)
	case KindStatic:
		if len(r.Static) == 0 && !r.Dedicated {
			return subgate.Invalidf(field+".static", "must list at least one egress (or set dedicated)")
		}
		return validateStatic(field+".static", r.Static)
	case "":
		return subgate.Invalidf(field+".kind", "is required (direct, upstream or static)")
	}
	return subgate.Invalidf(field+".kind", "must be direct, upstream or static, not %q", r.Kind)
}

func validateSources(field string, addrs []string) error {
	seen := map[netip.Addr]bool{}
	for i, s := range addrs {
		a, err := netip.ParseAddr(s)
		f := field + "[" + strconv.Itoa(i) + "]"
		if err != nil {
			return subgate.Invalidf(f, "is not an IP address: %q", s)
		}
		if seen[a] {
			return subgate.Invalidf(f, "repeats %s", a)
		}
		seen[a] = true
	}
	return nil
}

func validateUpstreams(field string, ups []Upstream) error {
	if len(ups) == 0 {
		return subgate.Invalidf(field, "must list at least one upstream")
	}
	names := map[string]bool{}
	for i := range ups {
		u := &ups[i]
		f := field + "[" + strconv.Itoa(i) + "]"
		if u.Name == "" {
			u.Name = u.Address
		}
		if names[u.Name] {
			return subgate.Invalidf(f+".name", "repeats %q (names must be unique within a route)", u.Name)
		}
		names[u.Name] = true
		if err := u.Proxy.validate(f); err != nil {
			return err
		}
		for j := range u.Via {
			if err := u.Via[j].validate(f + ".via[" + strconv.Itoa(j) + "]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Proxy) validate(field string) error {
	p.Protocol = strings.ToLower(p.Protocol)
	switch p.Protocol {
	case "":
		p.Protocol = ProtocolHTTP
	case ProtocolHTTP, ProtocolSOCKS5:
	default:
		return subgate.Invalidf(field+".protocol", "must be http or socks5")
	}
	if err := validateHostPort(p.Address); err != nil {
		return subgate.Invalidf(field+".address", "%v", err)
	}
	if _, _, err := presetOf(p.Preset); err != nil {
		return subgate.Invalidf(field+".preset", "%v", err)
	}
	for _, t := range []struct{ name, text string }{
		{"user_template", p.UserTemplate}, {"password_template", p.PasswordTemplate},
	} {
		if t.text == "" {
			continue
		}
		if _, err := ParseTemplate(t.text); err != nil {
			return subgate.Invalidf(field+"."+t.name, "%v", err)
		}
	}
	if p.Protocol == ProtocolSOCKS5 && (len(p.Username) > 255 || len(p.Password) > 255) {
		return subgate.Invalidf(field+".username", "and password must be at most 255 bytes for socks5")
	}
	return nil
}

func validateHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("must be host:port, not %q", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("has an invalid port in %q", s)
	}
	return nil
}

func validateStatic(field string, eg []StaticEgress) error {
	ids := map[string]bool{}
	for i := range eg {
		e := &eg[i]
		f := field + "[" + strconv.Itoa(i) + "]"
		if err := e.normalize(); err != nil {
			return subgate.Invalidf(f, "%v", err)
		}
		if ids[e.ID] {
			return subgate.Invalidf(f+".id", "repeats %q", e.ID)
		}
		ids[e.ID] = true
	}
	return nil
}

// normalize checks an egress and fills its ID.
func (e *StaticEgress) normalize() error {
	e.Country = strings.ToLower(strings.TrimSpace(e.Country))
	if e.Country != "" && !isCountry(e.Country) {
		return fmt.Errorf("country must be an ISO 3166-1 alpha-2 code, not %q", e.Country)
	}
	switch {
	case (e.Address == "") == (e.Proxy == ""):
		return fmt.Errorf("needs exactly one of address (local IP) or proxy (host:port:user:pass)")
	case e.Address != "":
		a, err := netip.ParseAddr(e.Address)
		if err != nil {
			return fmt.Errorf("address is not an IP address: %q", e.Address)
		}
		if e.ID == "" {
			e.ID = a.String()
		}
	default:
		p, err := ParseStaticProxy(e.Proxy)
		if err != nil {
			return err
		}
		if e.ID == "" {
			e.ID = p.Address
		}
	}
	return nil
}

func isCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z'
}

// errProxyForm does not repeat the value: it may hold a password, and
// errors end up in answers, logs and health reports.
var errProxyForm = errors.New("proxy must be host:port:user:pass or host:port")

// ParseStaticProxy reads a static proxy written as host:port:user:pass with
// an optional "http://" or "socks5://" scheme (HTTP CONNECT by default).
func ParseStaticProxy(s string) (Proxy, error) {
	p := Proxy{Protocol: ProtocolHTTP}
	rest := s
	if scheme, after, ok := strings.Cut(s, "://"); ok {
		p.Protocol, rest = strings.ToLower(scheme), after
		if p.Protocol != ProtocolHTTP && p.Protocol != ProtocolSOCKS5 {
			return p, fmt.Errorf("proxy scheme must be http or socks5, not %q", scheme)
		}
	}
	// IPv6 hosts come bracketed: [::1]:8080:user:pass.
	var host string
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			return p, errors.New("proxy has an unclosed [ around its IPv6 host")
		}
		host, rest = rest[:end+1], strings.TrimPrefix(rest[end+1:], ":")
	} else {
		h, after, ok := strings.Cut(rest, ":")
		if !ok {
			return p, errProxyForm
		}
		host, rest = h, after
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) != 1 && len(parts) != 3 {
		return p, errProxyForm
	}
	p.Address = net.JoinHostPort(strings.Trim(host, "[]"), parts[0])
	if err := validateHostPort(p.Address); err != nil {
		return p, fmt.Errorf("proxy %v", err)
	}
	if len(parts) == 3 {
		p.Username, p.Password = parts[1], parts[2]
	}
	return p, nil
}
