package secret

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadKey returns the sealing key. A configured value (base64 or hex of 32
// bytes) wins. Otherwise keyFile is read; when it does not exist it is created
// with a fresh random key, readable by the owner only, and created is true.
func LoadKey(configured, keyFile string) (key []byte, created bool, err error) {
	if strings.TrimSpace(configured) != "" {
		key, err = ParseKey(configured)
		if err != nil {
			return nil, false, fmt.Errorf("configured secret key: %w", err)
		}
		return key, false, nil
	}
	if keyFile == "" {
		return nil, false, errors.New("secret: neither a key nor a key file is configured")
	}
	key, err = readKeyFile(keyFile)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key, err = createKeyFile(keyFile)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our create.
		key, err = readKeyFile(keyFile)
		return key, false, err
	}
	return key, err == nil, err
}

// ParseKey decodes a 32-byte key written as hex or base64 (standard or URL
// alphabet, padded or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret: key must be %d bytes written as hex or base64", KeySize)
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// Write to a temporary file and link it into place so a reader never sees
	// a half-written key, and an existing file is never replaced.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return nil, err
	}
	return key, nil
}
