package subgate

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GatewayAddress is where end customers reach the proxy gateway: one public
// host and the ports that speak HTTP (with CONNECT) and SOCKS5. Proxy lists,
// the dashboard's connection details and the CLI's proxy URLs are all built
// from it.
type GatewayAddress struct {
	// Host is the public host name or IP; "" means the host the caller
	// reached the API at (see ForHost).
	Host      string
	HTTPPort  int // 0: no HTTP port
	SOCKSPort int // 0: no SOCKS5 port
}

// Enabled reports whether a gateway is reachable at all.
func (a GatewayAddress) Enabled() bool { return a.HTTPPort != 0 || a.SOCKSPort != 0 }

// ForHost fills an empty host with the host part of hostport (typically the
// Host header the API was reached at).
func (a GatewayAddress) ForHost(hostport string) GatewayAddress {
	if a.Host != "" {
		return a
	}
	a.Host = hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		a.Host = h
	}
	a.Host = strings.Trim(a.Host, "[]")
	return a
}

// ParseGatewayAddress reads the public gateway setting,
// HOST[:HTTP_PORT[:SOCKS5_PORT]] (an IPv6 host in brackets). A port left out
// is taken from def, and the SOCKS5 port defaults to the HTTP port given
// (the gateway's main port speaks both); 0 turns a protocol off.
func ParseGatewayAddress(field, s string, def GatewayAddress) (GatewayAddress, error) {
	a := def
	s = strings.TrimSpace(s)
	if s == "" {
		return a, nil
	}
	if strings.Contains(s, "://") {
		return a, Invalidf(field, "must be HOST[:HTTP_PORT[:SOCKS5_PORT]], without a scheme")
	}
	if bareIPv6(s) {
		return a, Invalidf(field, "must put an IPv6 host in brackets: [2001:db8::1]:3128")
	}
	host, rest := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return a, Invalidf(field, "has an unclosed '[' around its IPv6 host")
		}
		host, rest = s[1:end], s[end+1:]
		if rest != "" && !strings.HasPrefix(rest, ":") {
			return a, Invalidf(field, "must be HOST[:HTTP_PORT[:SOCKS5_PORT]]")
		}
		rest = strings.TrimPrefix(rest, ":")
	} else if h, r, ok := strings.Cut(s, ":"); ok {
		host, rest = h, r
	}
	if host == "" || strings.ContainsAny(host, "/@ ") {
		return a, Invalidf(field, "must start with a host name or IP address")
	}
	a.Host = host
	if rest == "" {
		return a, nil
	}
	ports := strings.Split(rest, ":")
	if len(ports) > 2 {
		return a, Invalidf(field, "must be HOST[:HTTP_PORT[:SOCKS5_PORT]]")
	}
	var err error
	if a.HTTPPort, err = parsePort(field, ports[0]); err != nil {
		return a, err
	}
	a.SOCKSPort = a.HTTPPort
	if len(ports) == 2 {
		if a.SOCKSPort, err = parsePort(field, ports[1]); err != nil {
			return a, err
		}
	}
	return a, nil
}

// bareIPv6 reports whether s is an IPv6 address, possibly followed by a
// port, written without the brackets that tell the two apart.
func bareIPv6(s string) bool {
	if ip := net.ParseIP(s); ip != nil && ip.To4() == nil {
		return true
	}
	i := strings.LastIndex(s, ":")
	ip := net.ParseIP(s[:max(i, 0)])
	return ip != nil && ip.To4() == nil
}

func parsePort(field, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, Invalidf(field, "has port %q, not a number from 0 to 65535", s)
	}
	return n, nil
}

// GatewayAddressFromListeners derives the public address from the gateway's
// listen addresses: the main port (HTTP and SOCKS5) unless a single-protocol
// port is configured, and the host when one is bound explicitly (an
// unspecified host stays "" for ForHost).
func GatewayAddressFromListeners(proxyAddr, httpAddr, socksAddr string) GatewayAddress {
	var a GatewayAddress
	hostPort := func(addr string) (string, int) {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return "", 0
		}
		n, _ := strconv.Atoi(p)
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			h = ""
		}
		return h, n
	}
	h, p := hostPort(proxyAddr)
	a.Host, a.HTTPPort, a.SOCKSPort = h, p, p
	if h2, p2 := hostPort(httpAddr); p2 != 0 && a.HTTPPort == 0 {
		a.HTTPPort = p2
		a.Host = cmpOr(a.Host, h2)
	}
	if h3, p3 := hostPort(socksAddr); p3 != 0 && a.SOCKSPort == 0 {
		a.SOCKSPort = p3
		a.Host = cmpOr(a.Host, h3)
	}
	return a
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Proxy protocols of a proxy URL.
const (
	ProxyHTTP   = "http"
	ProxySOCKS5 = "socks5h" // the client leaves name resolution to the gateway
)

// ProxyURL is a ready-to-use proxy URL for user and password on this
// gateway, both percent-encoded so that '@', '/', '#' or ':' in a password
// cannot break it. It is "" when the protocol has no port.
func (a GatewayAddress) ProxyURL(scheme, user, password string) string {
	port := a.HTTPPort
	if scheme == ProxySOCKS5 {
		port = a.SOCKSPort
	}
	if port == 0 {
		return ""
	}
	u := url.URL{Scheme: scheme, User: url.UserPassword(user, password), Host: net.JoinHostPort(a.Host, strconv.Itoa(port))}
	return u.String()
}

// TargetedUsername writes t after username in subgate's own syntax
// ("alice-country-us-session-abc-ttl-30m"), which the gateway reads back as t.
func TargetedUsername(username string, t Target) string {
	return withTarget(username, "-", targetPairs(t, false))
}

// TargetedPassword writes t after password in IPRoyal's syntax
// ("secret_country-us_session-abcd1234_lifetime-30m").
func TargetedPassword(password string, t Target) string {
	return withTarget(password, "_", targetPairs(t, true))
}

func withTarget(base, sep string, pairs [][2]string) string {
	var b strings.Builder
	b.WriteString(base)
	for _, kv := range pairs {
		b.WriteString(sep + kv[0] + "-" + kv[1])
	}
	return b.String()
}

// targetPairs lists t's settings as key-value pairs; the product has no
// IPRoyal key and is left out of passwords.
func targetPairs(t Target, iproyal bool) [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	if !iproyal {
		add("product", string(t.Product))
	}
	add("country", t.Country)
	add("state", t.State)
	add("city", t.City)
	add("session", t.Session)
	if t.SessionTTL > 0 {
		key := "ttl"
		if iproyal {
			key = "lifetime"
		}
		add(key, FormatSessionTTL(t.SessionTTL))
	}
	return out
}

// FormatSessionTTL writes a lifetime with one unit ("30m", "2d", "90s"), as
// IPRoyal takes it and the gateway reads it back.
func FormatSessionTTL(d time.Duration) string {
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.unit
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// targetKeys are the targeting parameters ProxyTarget takes, in the order
// it writes them.
var targetKeys = []string{"product", "country", "state", "city", "session", "ttl"}

// ProxyTarget checks targeting given as separate values (a CLI's flags, an
// API's query) exactly as the gateway would read it from a username, and
// returns it; the error names the parameter that is wrong. Empty values are
// left out; keys other than product, country, state, city, session and ttl
// are refused.
func ProxyTarget(params map[string]string) (Target, error) {
	user := "u"
	for _, k := range targetKeys {
		v := params[k]
		if v == "" {
			continue
		}
		if strings.Contains(v, "-") {
			return Target{}, Invalidf(k, "must not contain '-'")
		}
		user += "-" + k + "-" + v
	}
	for k := range params {
		if !slices.Contains(targetKeys, k) {
			return Target{}, Invalidf(paramName(k), "is not a known parameter")
		}
	}
	_, t, err := ParseProxyUsername(user)
	return t, err
}
