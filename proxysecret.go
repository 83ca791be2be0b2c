package subgate

import "strings"

// MatchProxyPassword reports whether a proxy password proves the stored
// one, and returns the IPRoyal-style settings that follow it ("" for none):
// "pass_123_country-us" proves "pass_123" with settings "country-us". The
// split is taken where the stored password ends, not at the first "_word-",
// so a password stored before such passwords were refused
// ("Summer_Sale-2024") keeps working, with or without settings after it.
// Unlike ParseProxyPassword it reads no setting, so a gateway can check the
// password before it reports malformed settings.
func MatchProxyPassword(stored, pass string) (settings string, ok bool) {
	if stored == "" || len(pass) < len(stored) || !EqualSecret(stored, pass[:len(stored)]) {
		return "", false
	}
	rest := pass[len(stored):]
	if rest == "" {
		return "", true
	}
	// Settings follow a '_' and start with a word and '-'.
	if loc := passwordSettingsRE.FindStringIndex(rest); loc == nil || loc[0] != 0 {
		return "", false
	}
	return strings.TrimPrefix(rest, "_"), true
}
