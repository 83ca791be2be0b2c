// Package secret seals secrets that must be readable again (proxy passwords)
// with AES-256-GCM, and loads or creates the key that does it.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/subgate/subgate"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// Sealed layout, version 1:
//
//	[1: version][4: key id][12: nonce][ciphertext + 16-byte tag]
//
// The key id (the first bytes of SHA-256 of the key) lets a future keyring
// pick the right key while rotating, and makes a wrong key a clear error
// rather than a bare authentication failure. The header is authenticated as
// additional data.
const (
	version1   = 1
	keyIDSize  = 4
	headerSize = 1 + keyIDSize
)

// ErrWrongKey means a value was sealed with another key than this one.
var ErrWrongKey = errors.New("secret: sealed with a different key")

// ErrMalformed means a value is not something this package sealed.
var ErrMalformed = errors.New("secret: malformed sealed value")

// AESGCM implements subgate.Cipher with AES-256-GCM and a random nonce per value.
type AESGCM struct {
	aead  cipher.AEAD
	keyID [keyIDSize]byte
}

var _ subgate.Cipher = (*AESGCM)(nil)

// New returns a cipher for a 32-byte key.
func New(key []byte) (*AESGCM, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	c := &AESGCM{aead: aead}
	sum := sha256.Sum256(key)
	copy(c.keyID[:], sum[:])
	return c, nil
}

// Seal encrypts plaintext; sealing the same value twice gives different bytes.
func (c *AESGCM) Seal(plaintext []byte) ([]byte, error) {
	ns := c.aead.NonceSize()
	out := make([]byte, headerSize+ns, headerSize+ns+len(plaintext)+c.aead.Overhead())
	out[0] = version1
	copy(out[1:headerSize], c.keyID[:])
	if _, err := rand.Read(out[headerSize:]); err != nil {
		return nil, err
	}
	return c.aead.Seal(out, out[headerSize:], plaintext, out[:headerSize]), nil
}

// Open decrypts a value made by Seal.
func (c *AESGCM) Open(sealed []byte) ([]byte, error) {
	ns := c.aead.NonceSize()
	if len(sealed) < headerSize+ns+c.aead.Overhead() || sealed[0] != version1 {
		return nil, ErrMalformed
	}
	if subtle.ConstantTimeCompare(sealed[1:headerSize], c.keyID[:]) != 1 {
		return nil, ErrWrongKey
	}
	nonce := sealed[headerSize : headerSize+ns]
	pt, err := c.aead.Open(nil, nonce, sealed[headerSize+ns:], sealed[:headerSize])
	if err != nil {
		return nil, ErrMalformed
	}
	return pt, nil
}
