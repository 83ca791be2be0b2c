package subgate

import (
	"strings"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Country is a country a proxy connection can target, by its lower-case
// ISO 3166-1 alpha-2 code (the value of the country parameter).
type Country struct {
	Code string
	Name string // English
}

// TargetCountries lists the countries, ordered by code. The gateway takes
// any of them and no other code; whether a route can honour one depends on
// its egress.
var TargetCountries = sync.OnceValue(func() []Country {
	var out []Country
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || !r.IsCountry() || r.IsPrivateUse() || r.String() != code {
				continue
			}
			name := display.English.Regions().Name(r)
			if name == "" || name == code {
				continue
			}
			out = append(out, Country{Code: strings.ToLower(code), Name: name})
		}
	}
	return out
})

var targetCountryCodes = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, c := range TargetCountries() {
		m[c.Code] = true
	}
	return m
})

// IsTargetCountry reports whether code (lower case) is one of
// TargetCountries.
func IsTargetCountry(code string) bool { return targetCountryCodes()[code] }
