package route

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// Params are the values an upstream's credentials are rewritten from: the
// upstream account's own credentials plus the connection's targeting.
type Params struct {
	User, Pass string // the upstream account's credentials from the config
	Product    string // product token, e.g. res
	Country    string // lower-case ISO alpha-2; "" any
	State      string // lower case, no separators; "" any
	City       string // lower case, no separators; "" any
	// Session is the derived upstream session (8 alphanumerics), SessionNum
	// its numeric form, SessionHex a longer hex form; all "" when the
	// connection rotates.
	Session, SessionNum, SessionHex string
	TTL                             time.Duration // sticky lifetime; 0 when rotating
}

// Preset names a built-in rewriting of targeting into a provider's syntax.
type Preset string

const (
	PresetNone    Preset = ""        // credentials sent unchanged
	PresetNetNut  Preset = "netnut"  // USER-res-us-sid-123456:PASS
	PresetIPRoyal Preset = "iproyal" // USER:PASS_country-us_session-abcd1234_lifetime-10m
	PresetGeneric Preset = "generic" // USER-country-us-session-abcd1234:PASS
)

// rewriter turns Params into upstream credentials.
type rewriter func(Params) string

func presetOf(p Preset) (user, pass rewriter, err error) {
	switch p {
	case PresetNone:
		return plainUser, plainPass, nil
	case PresetNetNut:
		return netnutUser, plainPass, nil
	case PresetIPRoyal:
		return plainUser, iproyalPass, nil
	case PresetGeneric:
		return genericUser.render, plainPass, nil
	}
	return nil, nil, fmt.Errorf("must be netnut, iproyal, generic or empty, not %q", p)
}

func plainUser(p Params) string { return p.User }
func plainPass(p Params) string { return p.Pass }

var genericUser = mustTemplate("{user}[-country-{country}][-session-{session}]")

// netnutUser writes NetNut's gateway username: USER-res-us, USER-res-any,
// USER-res_sc-us_california_losangeles, with -sid-N for sticky sessions.
// NetNut says uk for Great Britain. State-only and city-only targeting use the
// _s and _c product suffixes by analogy with _sc.
func netnutUser(p Params) string {
	var b strings.Builder
	b.WriteString(p.User)
	b.WriteByte('-')
	b.WriteString(p.Product)
	if p.Country == "" {
		b.WriteString("-any")
	} else {
		cc := p.Country
		if cc == "gb" {
			cc = "uk"
		}
		switch {
		case p.State != "" && p.City != "":
			b.WriteString("_sc-" + cc + "_" + p.State + "_" + p.City)
		case p.State != "":
			b.WriteString("_s-" + cc + "_" + p.State)
		case p.City != "":
			b.WriteString("_c-" + cc + "_" + p.City)
		default:
			b.WriteString("-" + cc)
		}
	}
	if p.SessionNum != "" {
		b.WriteString("-sid-" + p.SessionNum)
	}
	return b.String()
}

// iproyalPass appends IPRoyal's settings to the password:
// PASS_country-us_state-texas_city-dallas_session-abcd1234_lifetime-10m.
func iproyalPass(p Params) string {
	var b strings.Builder
	b.WriteString(p.Pass)
	if p.Country != "" {
		b.WriteString("_country-" + p.Country)
		if p.State != "" {
			b.WriteString("_state-" + p.State)
		}
		if p.City != "" {
			b.WriteString("_city-" + p.City)
		}
	}
	if p.Session != "" {
		b.WriteString("_session-" + p.Session)
		b.WriteString("_lifetime-" + iproyalLifetime(p.TTL))
	}
	return b.String()
}

// iproyalLifetime writes a duration in IPRoyal's one-unit form, clamped to
// the accepted 1s…7d.
func iproyalLifetime(d time.Duration) string {
	return subgate.FormatSessionTTL(max(min(d, subgate.MaxSessionTTL), subgate.MinSessionTTL))
}

// Template is a credential pattern such as
// "{user}[-country-{country}][-session-{session}]". Placeholders are user,
// pass, product, country, COUNTRY (upper case), state, city, session,
// session_num, session_hex, ttl (e.g. 10m), ttl_min and ttl_sec. A bracketed
// part is left out when any placeholder inside it is empty.
type Template struct {
	parts []tplPart
}

type tplPart struct {
	literal  string
	field    string
	optional []tplPart // a bracketed group
	group    bool
}

var templateFields = map[string]func(Params) string{
	"user":        func(p Params) string { return p.User },
	"pass":        func(p Params) string { return p.Pass },
	"product":     func(p Params) string { return p.Product },
	"country":     func(p Params) string { return p.Country },
	"COUNTRY":     func(p Params) string { return strings.ToUpper(p.Country) },
	"state":       func(p Params) string { return p.State },
	"city":        func(p Params) string { return p.City },
	"session":     func(p Params) string { return p.Session },
	"session_num": func(p Params) string { return p.SessionNum },
	"session_hex": func(p Params) string { return p.SessionHex },
	"ttl":         func(p Params) string { return ttlText(p.TTL, iproyalLifetime) },
	"ttl_min":     func(p Params) string { return ttlText(p.TTL, unitCount(time.Minute)) },
	"ttl_sec":     func(p Params) string { return ttlText(p.TTL, unitCount(time.Second)) },
}

func ttlText(d time.Duration, f func(time.Duration) string) string {
	if d <= 0 {
		return ""
	}
	return f(d)
}

func unitCount(unit time.Duration) func(time.Duration) string {
	return func(d time.Duration) string { return strconv.FormatInt(int64(max(d/unit, 1)), 10) }
}

// ParseTemplate compiles a credential template.
func ParseTemplate(s string) (*Template, error) {
	parts, rest, err := parseParts(s, false)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("unexpected %q in template", rest[:1])
	}
	return &Template{parts: parts}, nil
}

func mustTemplate(s string) *Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// parseParts reads until the end of s or, inside a group, until "]".
func parseParts(s string, inGroup bool) ([]tplPart, string, error) {
	var parts []tplPart
	for s != "" {
		i := strings.IndexAny(s, "{}[]")
		if i < 0 {
			parts = append(parts, tplPart{literal: s})
			return parts, "", nil
		}
		if i > 0 {
			parts = append(parts, tplPart{literal: s[:i]})
		}
		s = s[i:]
		switch s[0] {
		case '{':
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return nil, "", fmt.Errorf("unclosed { in template")
			}
			name := s[1:end]
			if templateFields[name] == nil {
				return nil, "", fmt.Errorf("unknown placeholder {%s}", name)
			}
			parts = append(parts, tplPart{field: name})
			s = s[end+1:]
		case '[':
			if inGroup {
				return nil, "", fmt.Errorf("brackets may not nest in a template")
			}
			inner, rest, err := parseParts(s[1:], true)
			if err != nil {
				return nil, "", err
			}
			if !strings.HasPrefix(rest, "]") {
				return nil, "", fmt.Errorf("unclosed [ in template")
			}
			parts = append(parts, tplPart{group: true, optional: inner})
			s = rest[1:]
		case ']':
			if inGroup {
				return parts, s, nil
			}
			return nil, "", fmt.Errorf("unmatched ] in template")
		default: // '}'
			return nil, "", fmt.Errorf("unmatched } in template")
		}
	}
	if inGroup {
		return nil, "", fmt.Errorf("unclosed [ in template")
	}
	return parts, "", nil
}

func (t *Template) render(p Params) string {
	var b strings.Builder
	renderParts(&b, t.parts, p)
	return b.String()
}

// Render fills the template from p.
func (t *Template) Render(p Params) string { return t.render(p) }

// renderParts writes parts and reports whether every placeholder was non-empty.
func renderParts(b *strings.Builder, parts []tplPart, p Params) bool {
	complete := true
	for _, part := range parts {
		switch {
		case part.group:
			var g strings.Builder
			if renderParts(&g, part.optional, p) {
				b.WriteString(g.String())
			}
		case part.field != "":
			v := templateFields[part.field](p)
			complete = complete && v != ""
			b.WriteString(v)
		default:
			b.WriteString(part.literal)
		}
	}
	return complete
}
