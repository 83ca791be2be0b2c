package subgate

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// A static proxy's password is sealed at rest like a sub-user's: the store
// keeps "[scheme://]host:port:user:" followed by sealedUpstreamPrefix and the
// base64 of the sealed password. The rest stays readable so the store can
// find an entry by its identity (everything but the password).
const sealedUpstreamPrefix = "enc:"

// RedactedPassword stands for a secret an API does not show.
const RedactedPassword = "****"

// SplitStaticUpstream splits "[scheme://]host:port[:user:pass]" into its
// identity ("[scheme://]host:port[:user]") and password. The password may
// contain ':'; hasPassword is false when there is no password part.
func SplitStaticUpstream(s string) (identity, password string, hasPassword bool) {
	scheme, rest := "", s
	if sc, after, ok := strings.Cut(s, "://"); ok {
		scheme, rest = sc+"://", after
	}
	var host string
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return s, "", false
		}
		host, rest = rest[:end+1], strings.TrimPrefix(rest[end+1:], ":")
	} else {
		h, after, ok := strings.Cut(rest, ":")
		if !ok {
			return s, "", false
		}
		host, rest = h, after
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) < 3 {
		return s, "", false
	}
	return scheme + host + ":" + parts[0] + ":" + parts[1], parts[2], true
}

// SealStaticUpstream returns the form of a static proxy the store keeps:
// its password sealed with c.
func SealStaticUpstream(c Cipher, upstream string) (string, error) {
	identity, pass, ok := SplitStaticUpstream(upstream)
	if !ok || pass == "" {
		return upstream, nil
	}
	sealed, err := c.Seal([]byte(pass))
	if err != nil {
		return "", err
	}
	return identity + ":" + sealedUpstreamPrefix + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// OpenStaticUpstream reverses SealStaticUpstream. A value stored before
// passwords were sealed is returned as it is.
func OpenStaticUpstream(c Cipher, stored string) (string, error) {
	identity, pass, ok := SplitStaticUpstream(stored)
	b64, sealed := strings.CutPrefix(pass, sealedUpstreamPrefix)
	if !ok || !sealed {
		return stored, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("static proxy %s: malformed sealed password", identity)
	}
	plain, err := c.Open(raw)
	if err != nil {
		return "", fmt.Errorf("static proxy %s: %w", identity, err)
	}
	return identity + ":" + string(plain), nil
}

// StaticUpstreamIdentity is what makes two static proxies the same entry:
// the upstream without its password.
func StaticUpstreamIdentity(upstream string) string {
	identity, _, _ := SplitStaticUpstream(upstream)
	return identity
}

// StaticUpstreamMatch says how a store finds entries that are the same
// static proxy as upstream: a stored value equal to identity, or, when the
// proxy names a user, one starting with prefix (the same user with a
// password, sealed or not). prefix is "" when there is no user.
func StaticUpstreamMatch(upstream string) (identity, prefix string) {
	identity = StaticUpstreamIdentity(upstream)
	if _, _, withUser := SplitStaticUpstream(identity + ":x"); withUser {
		prefix = identity + ":"
	}
	return identity, prefix
}

// RedactStaticUpstream replaces a static proxy's password with RedactedPassword.
func RedactStaticUpstream(upstream string) string {
	identity, pass, ok := SplitStaticUpstream(upstream)
	if !ok || pass == "" {
		return upstream
	}
	return identity + ":" + RedactedPassword
}
