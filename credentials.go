package subgate

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Proxy credentials may carry targeting parameters, in the username (in
// subgate's own, NetNut's, 9Proxy's or Oxylabs' syntax, see
// ParseProxyUsername) or, IPRoyal style, in the password
// ("secret_country-us_session-abcd1234_lifetime-10m", '_' between settings).
// Usernames cannot contain '-' and passwords cannot contain "_word-" (see
// ValidateUsername and ValidateProxyPassword), so the split is unambiguous.

// Bounds of a sticky session's lifetime.
const (
	MinSessionTTL = time.Second
	MaxSessionTTL = 7 * 24 * time.Hour
)

// usernameKeys maps every accepted key-value username parameter to its
// canonical name: subgate's own, with the aliases of Oxylabs-style gateways
// (cc, sessid, sesstime), NetNut (sid) and 9Proxy (ssid, sst).
var usernameKeys = map[string]string{
	"product": "product", "type": "product",
	"country": "country", "cc": "country",
	"state":   "state",
	"city":    "city",
	"session": "session", "sid": "session", "sessid": "session", "ssid": "session",
	"ttl": "ttl", "sesstime": "ttl", "sst": "ttl",
}

// passwordKeys are IPRoyal's settings that mean something here.
var passwordKeys = map[string]string{
	"country": "country", "city": "city", "state": "state",
	"session": "session", "lifetime": "ttl",
}

// ignoredPasswordKeys are IPRoyal's other settings: a region (continent), an
// ISP, the high-end pool, skipping static ISP IPs or listed ranges, forcing
// a random IP. Nothing here honours them, so, like IPRoyal with a setting a
// plan lacks, the gateway accepts and ignores them.
var ignoredPasswordKeys = map[string]bool{
	"region": true, "isp": true, "streaming": true, "skipispstatic": true,
	"skipipslist": true, "forcerandom": true,
}

// ParseProxyPassword splits an IPRoyal-style password into the password and
// the settings that follow it. Settings start at the first '_' followed by a
// word and '-' ("_country-"); a password may hold '_' elsewhere ("pass_123"),
// and ValidateProxyPassword refuses passwords that would read as settings.
func ParseProxyPassword(s string) (password string, t Target, err error) {
	loc := passwordSettingsRE.FindStringIndex(s)
	if loc == nil {
		if s == "" {
			return "", Target{}, Invalidf("password", "is empty")
		}
		return s, Target{}, nil
	}
	password = s[:loc[0]]
	if password == "" {
		return "", Target{}, Invalidf("password", "is empty")
	}
	t, err = parsePasswordSettings(s[loc[0]+1:])
	if err != nil {
		return "", Target{}, err
	}
	return password, t, nil
}

// parsePasswordSettings reads IPRoyal-style settings ("country-us_session-x")
// as they follow a password and its '_'.
func parsePasswordSettings(settings string) (t Target, err error) {
	seen := map[string]bool{}
	for _, p := range strings.Split(settings, "_") {
		key, value, ok := strings.Cut(p, "-")
		if !ok {
			return Target{}, Invalidf(paramName(p), "has no value (settings go key-value, e.g. country-us)")
		}
		if k := strings.ToLower(key); ignoredPasswordKeys[k] {
			if seen[k] {
				return Target{}, Invalidf(k, "is given more than once")
			}
			seen[k] = true
			if len(value) > 64 || !isAlnum(value) {
				return Target{}, Invalidf(k, "must be 1 to 64 letters or digits")
			}
			continue
		}
		if err := setParam(&t, passwordKeys, seen, key, value); err != nil {
			return Target{}, err
		}
	}
	return t, nil
}

// passwordSettingsRE finds where IPRoyal-style settings begin in a password.
var passwordSettingsRE = regexp.MustCompile(`_[A-Za-z]+-`)

// ParseProxyCredentials is the one parser of proxy credentials: it reads
// the username in whichever syntax it is written (see ParseProxyUsername)
// and the password's IPRoyal-style settings, and merges both into one
// Target; a parameter given in both with different values is an error
// naming both.
func ParseProxyCredentials(user, pass string) (username, password string, t Target, err error) {
	username, tu, err := ParseProxyUsername(user)
	if err != nil {
		return "", "", Target{}, err
	}
	password, tp, err := ParseProxyPassword(pass)
	if err != nil {
		return "", "", Target{}, err
	}
	t, err = MergeTargets(tu, tp)
	return username, password, t, err
}

// ParseProxyTarget is ParseProxyCredentials for a gateway that has already
// checked the password (see MatchProxyPassword) and kept the settings that
// follow it ("" for none).
func ParseProxyTarget(user, settings string) (Target, error) {
	_, tu, err := ParseProxyUsername(user)
	if err != nil || settings == "" {
		return tu, err
	}
	tp, err := parsePasswordSettings(settings)
	if err != nil {
		return Target{}, err
	}
	return MergeTargets(tu, tp)
}

// MergeTargets combines the target of a username (a) with the target of a
// password (b) field by field; both setting a field to different values is
// an EINVALID error naming the field and both values.
func MergeTargets(a, b Target) (Target, error) {
	var err error
	pick := func(field, x, y string) string {
		if x != "" && y != "" && x != y && err == nil {
			err = Invalidf(field, "is %q in the username but %q in the password", x, y)
		}
		if x != "" {
			return x
		}
		return y
	}
	out := Target{
		Product: Product(pick("product", string(a.Product), string(b.Product))),
		Country: pick("country", a.Country, b.Country),
		State:   pick("state", a.State, b.State),
		City:    pick("city", a.City, b.City),
		Session: pick("session", a.Session, b.Session),
	}
	out.SessionTTL = a.SessionTTL
	if b.SessionTTL != 0 {
		if a.SessionTTL != 0 && a.SessionTTL != b.SessionTTL && err == nil {
			err = Invalidf("ttl", "is %s in the username but %s in the password", a.SessionTTL, b.SessionTTL)
		}
		out.SessionTTL = b.SessionTTL
	}
	if err != nil {
		return Target{}, err
	}
	return out, nil
}

func setParam(t *Target, keys map[string]string, seen map[string]bool, key, value string) error {
	name, ok := keys[strings.ToLower(key)]
	if !ok {
		return Invalidf(paramName(key), "is not a known parameter")
	}
	if seen[name] {
		return Invalidf(name, "is given more than once")
	}
	seen[name] = true
	if value == "" {
		return Invalidf(name, "has an empty value")
	}
	switch name {
	case "product":
		p, err := ParseProduct(value)
		if err != nil || p == ProductAny {
			return Invalidf(name, "must be one of res, dc, stc, mob")
		}
		t.Product = p
	case "country":
		c := strings.ToLower(value)
		if len(c) != 2 || !isLetters(c) {
			return Invalidf(name, "must be a 2-letter country code")
		}
		if c == "uk" {
			c = "gb"
		}
		if !IsTargetCountry(c) {
			return Invalidf(name, "%q is not an ISO 3166-1 country code", c)
		}
		t.Country = c
	case "state", "city":
		v := strings.ToLower(value)
		if len(v) > 64 || !isPlace(v) {
			return Invalidf(name, "must be up to 64 letters, digits or _")
		}
		if name == "state" {
			t.State = v
		} else {
			t.City = v
		}
	case "session":
		if len(value) > 64 || !isAlnum(value) {
			return Invalidf(name, "must be 1 to 64 letters or digits")
		}
		t.Session = value
	case "ttl":
		d, err := ParseSessionTTL(value)
		if err != nil {
			return err // already an EINVALID error on ttl
		}
		t.SessionTTL = d
	}
	return nil
}

// ParseSessionTTL reads a session lifetime: a bare number of minutes, a
// number with one unit s, m, h or d ("30m", "7d"), or a Go duration
// ("1h30m"); it must lie between MinSessionTTL and MaxSessionTTL.
func ParseSessionTTL(s string) (time.Duration, error) {
	d, ok := parseTTL(s)
	if !ok {
		return 0, Invalidf("ttl", "must be minutes or a duration such as 30s, 10m, 2h, 7d")
	}
	if d < MinSessionTTL || d > MaxSessionTTL {
		return 0, Invalidf("ttl", "must be between 1s and 7d")
	}
	return d, nil
}

func parseTTL(s string) (time.Duration, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(MaxSessionTTL/time.Minute)+1 {
			return 0, n >= 0 && n < 1<<40 // far out of range: the bounds check reports it
		}
		return time.Duration(n) * time.Minute, true
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days < 0 || days > 365 {
			return 0, err == nil
		}
		return time.Duration(days) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// paramName keeps an unknown key printable and short inside an error.
func paramName(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	if !isPlace(strings.ToLower(s)) {
		return strconv.Quote(s)
	}
	return s
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

func isPlace(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}
