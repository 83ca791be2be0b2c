package subgate

import "strings"

// End customers keep the proxy strings of the provider they came from. A
// proxy username is the sub-user's username followed by targeting parts,
// all separated by '-' (usernames never contain one, see ValidateUsername).
// Its syntax is told by its shape, in this order:
//
//  1. Oxylabs-style: an even number of parts, the first "customer":
//     customer-USER-cc-US-st-us_california-city-dallas-sessid-X-sesstime-10.
//  2. NetNut: a product token (res, dc, stc, mob, optionally with _s, _c or
//     _sc) right after the username, then a location:
//     USER-res-us, USER-res-any, USER-res_sc-us_california_losangeles,
//     USER-res-us-sid-123456.
//  3. Key-value pairs after the username: subgate's own
//     (alice-country-us-session-abc-ttl-10m), which also reads 9Proxy's
//     (USER-country-us-ssid-abc-sst-30).
//
// Forms 2 and 3 have an odd number of parts, so a sub-user called
// "customer" keeps working; no key of form 3 is a product token, so 2 and 3
// never overlap. Each string therefore has exactly one reading, and a
// string that fits none is refused naming the part that does not fit.
// IPRoyal's syntax lives in the password (ParseProxyPassword) and combines
// with any of these.

type proxySyntax int

const (
	syntaxKeyValue proxySyntax = iota
	syntaxNetNut
	syntaxOxylabs
)

// oxylabsPrefix starts an Oxylabs-style username.
const oxylabsPrefix = "customer"

// splitProxyUsername tells a username's syntax and splits it into the
// sub-user's username and the targeting parts after it.
func splitProxyUsername(s string) (syntax proxySyntax, username string, rest []string) {
	parts := strings.Split(s, "-")
	switch {
	case len(parts)%2 == 0 && strings.EqualFold(parts[0], oxylabsPrefix):
		return syntaxOxylabs, parts[1], parts[2:]
	case len(parts) > 1 && isNetNutProduct(parts[1]):
		return syntaxNetNut, parts[0], parts[1:]
	}
	return syntaxKeyValue, parts[0], parts[1:]
}

// ProxyUsername returns the sub-user's username a proxy username names,
// whatever its syntax. Unlike ParseProxyUsername it never fails, so a
// gateway can check the credential before it reports malformed targeting.
func ProxyUsername(s string) string {
	_, username, _ := splitProxyUsername(s)
	return username
}

// ParseProxyUsername splits a proxy username, in any of the syntaxes above,
// into the sub-user's username and its targeting.
func ParseProxyUsername(s string) (username string, t Target, err error) {
	syntax, username, rest := splitProxyUsername(s)
	if username == "" {
		return "", Target{}, Invalidf("username", "is empty")
	}
	switch syntax {
	case syntaxOxylabs:
		t, err = parseOxylabs(rest)
	case syntaxNetNut:
		t, err = parseNetNut(rest)
	default:
		t, err = parseKeyValue(rest)
	}
	if err != nil {
		return "", Target{}, err
	}
	return username, t, nil
}

// parseKeyValue reads subgate's own (and 9Proxy's) key-value parameters.
func parseKeyValue(params []string) (Target, error) {
	var t Target
	if len(params)%2 != 0 {
		return t, Invalidf(paramName(params[len(params)-1]), "has no value (parameters go key-value, separated by '-')")
	}
	seen := map[string]bool{}
	for i := 0; i < len(params); i += 2 {
		if err := setParam(&t, usernameKeys, seen, params[i], params[i+1]); err != nil {
			return Target{}, err
		}
	}
	return t, nil
}

// netnutProducts are NetNut's product tokens, which are subgate's products.
var netnutProducts = map[string]Product{
	"res": ProductResidential, "dc": ProductDatacenter, "stc": ProductStatic, "mob": ProductMobile,
}

func isNetNutProduct(s string) bool {
	base, _, _ := strings.Cut(strings.ToLower(s), "_")
	_, ok := netnutProducts[base]
	return ok
}

// parseNetNut reads PRODUCT[_s|_c|_sc]-LOCATION[-sid-SESSION]. LOCATION is
// "any" or a country code, with _s country_state, with _c country_city and
// with _sc country_state_city (NetNut writes places without separators).
func parseNetNut(parts []string) (Target, error) {
	token := strings.ToLower(parts[0])
	base, form, _ := strings.Cut(token, "_")
	t := Target{Product: netnutProducts[base]}
	if len(parts) < 2 {
		return Target{}, Invalidf(paramName(token), "needs a location after it (any, a country such as us, or country_state_city with _sc)")
	}
	seen := map[string]bool{}
	set := func(key, value string) error { return setParam(&t, usernameKeys, seen, key, value) }
	loc := strings.ToLower(parts[1])
	var err error
	switch form {
	case "":
		if loc != "any" {
			err = set("country", loc)
		}
	case "s", "c", "sc":
		err = netnutPlace(form, loc, set)
	default:
		err = Invalidf(paramName(token), "must be a product (res, dc, stc, mob), optionally with _s, _c or _sc")
	}
	if err != nil {
		return Target{}, err
	}
	switch tail := parts[2:]; {
	case len(tail) == 0:
	case len(tail) == 1 && strings.EqualFold(tail[0], "sid"):
		return Target{}, Invalidf("sid", "has no value (sid-123456)")
	case len(tail) == 2 && strings.EqualFold(tail[0], "sid"):
		if err := set("sid", tail[1]); err != nil {
			return Target{}, err
		}
	default:
		return Target{}, Invalidf(paramName(tail[0]), "is not allowed here (after a NetNut location only sid-N may follow)")
	}
	return t, nil
}

// netnutPlace reads the location of the _s, _c and _sc forms.
func netnutPlace(form, loc string, set func(key, value string) error) error {
	want := map[string]string{"s": "country_state", "c": "country_city", "sc": "country_state_city"}[form]
	cc, place, ok := strings.Cut(loc, "_")
	if !ok || place == "" {
		return Invalidf(paramName(loc), "must be %s", want)
	}
	if err := set("country", cc); err != nil {
		return err
	}
	switch form {
	case "s":
		return set("state", place)
	case "c":
		return set("city", place)
	}
	state, city, ok := strings.Cut(place, "_")
	if !ok || state == "" {
		return Invalidf(paramName(loc), "must be %s", want)
	}
	if err := set("state", state); err != nil {
		return err
	}
	return set("city", city)
}

// oxylabsKeys are the parameters of Oxylabs-style usernames; st is
// country_state ("us_california").
var oxylabsKeys = map[string]string{
	"cc": "country", "st": "state", "city": "city", "sessid": "session", "sesstime": "ttl",
}

// parseOxylabs reads the key-value parameters after customer-USER.
func parseOxylabs(params []string) (Target, error) {
	var t Target
	seen := map[string]bool{}
	stCountry := ""
	for i := 0; i < len(params); i += 2 {
		key, value := params[i], params[i+1]
		if strings.EqualFold(key, "st") {
			cc, state, ok := strings.Cut(value, "_")
			if !ok || state == "" {
				return Target{}, Invalidf("st", "must be country_state, e.g. us_california")
			}
			stCountry, value = cc, state
		}
		if err := setParam(&t, oxylabsKeys, seen, key, value); err != nil {
			return Target{}, err
		}
	}
	if stCountry != "" {
		var st Target
		if err := setParam(&st, oxylabsKeys, map[string]bool{}, "cc", stCountry); err != nil {
			return Target{}, Invalidf("st", "must start with a 2-letter country code, e.g. us_california")
		}
		if t.Country != "" && t.Country != st.Country {
			return Target{}, Invalidf("st", "is in %q but cc is %q", st.Country, t.Country)
		}
		t.Country = st.Country
	}
	return t, nil
}
