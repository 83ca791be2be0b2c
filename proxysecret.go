package subgate

// ProxySecret returns the password a proxy password proves, without any
// IPRoyal-style settings after it ("pass_123_country-us" proves "pass_123").
// Unlike ParseProxyPassword it never fails, so a gateway can check the
// password before it reports malformed settings.
func ProxySecret(s string) string {
	if loc := passwordSettingsRE.FindStringIndex(s); loc != nil {
		return s[:loc[0]]
	}
	return s
}
