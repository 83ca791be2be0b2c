package subgate

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/oklog/ulid/v2"
	"golang.org/x/crypto/bcrypt"
)

// NewSecret returns a random token with a readable prefix, e.g. "sgr_…".
// 32 random bytes make a plain SHA-256 a sufficient hash for storage.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret hashes a high-entropy token for storage and lookup.
func HashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// SecretPrefix is the part of a token shown in listings.
func SecretPrefix(s string) string {
	if i := strings.IndexByte(s, '_'); i >= 0 && len(s) > i+5 {
		return s[:i+5]
	}
	return s[:min(len(s), 6)]
}

// EqualSecret compares secrets in constant time.
func EqualSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// HashPassword hashes a human password slowly (bcrypt).
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	return string(h), err
}

// CheckPassword compares a human password with its bcrypt hash.
func CheckPassword(hash, pw string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// NewHash returns a new public identifier (ULID).
func NewHash() string { return ulid.Make().String() }

const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// NewProxyPassword generates a proxy password that fits ValidateProxyPassword.
func NewProxyPassword() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = passwordAlphabet[int(b[i])%len(passwordAlphabet)]
	}
	return string(b)
}
