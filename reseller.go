package subgate

import (
	"net/mail"
	"strings"
	"time"
)

// Reseller is a customer account of the operator. It holds traffic pools per
// product and owns sub-users carved out of them.
type Reseller struct {
	ID           int64             `json:"id"`
	Name         string            `json:"name"`
	Email        string            `json:"email,omitempty"`
	PasswordHash string            `json:"-"` // bcrypt; login for dashboard and NetNut dialect
	Pools        map[Product]int64 `json:"pools"`
	CreatedAt    time.Time         `json:"created_at"`
}

// ResellerCreate is the input to create a reseller.
type ResellerCreate struct {
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	Password string `json:"password,omitempty"`
}

// Validate checks the input; the email is normalised to lower case.
func (c *ResellerCreate) Validate() error {
	c.Name = strings.TrimSpace(c.Name)
	c.Email = strings.ToLower(strings.TrimSpace(c.Email))
	if c.Name == "" {
		return Invalidf("name", "is required")
	}
	if len(c.Name) > 200 {
		return Invalidf("name", "must be at most 200 characters")
	}
	if c.Email != "" {
		if err := ValidateEmail("email", c.Email); err != nil {
			return err
		}
	}
	if c.Password != "" && (len(c.Password) < 8 || len(c.Password) > 72) {
		return Invalidf("password", "must be 8 to 72 characters")
	}
	if (c.Email == "") != (c.Password == "") {
		return Invalidf("password", "email and password go together (they are the reseller's login)")
	}
	return nil
}

// ValidateEmail checks an e-mail address.
func ValidateEmail(field, email string) error {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return Invalidf(field, "must be a valid e-mail address")
	}
	return nil
}

// TokenKind says which edge accepts a token.
type TokenKind string

const (
	TokenAPI    TokenKind = "api"    // native API, IPRoyal Bearer, 9Proxy api-key
	TokenNetNut TokenKind = "netnut" // issued by the NetNut dialect's login, 24 h
)

// Token is an API credential of a reseller. Only a hash of the secret is
// stored; the secret is shown once when issued.
type Token struct {
	ID         int64      `json:"id"`
	ResellerID int64      `json:"reseller_id"`
	Kind       TokenKind  `json:"kind"`
	Hash       []byte     `json:"-"`      // SHA-256 of the secret
	Prefix     string     `json:"prefix"` // first characters, to tell tokens apart
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Active reports whether the token may be used at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Principal is who makes a request: the admin or one reseller.
type Principal struct {
	Admin      bool
	ResellerID int64
}

// Scope limits a store query to one reseller's objects; zero means all (admin).
type Scope int64
