package secret_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/subgate/subgate/secret"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, secret.KeySize) }

func TestSealOpenRoundTrip(t *testing.T) {
	c, err := secret.New(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range []string{"", "p", "hunter2-PASSWORD", strings.Repeat("x", 4096)} {
		sealed, err := c.Seal([]byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		// Short plaintexts turn up in random ciphertext by chance (a
		// one-byte value does in about 1 of 9 seals), so only check
		// values long enough that a match would mean a real leak.
		if len(pt) >= 8 && bytes.Contains(sealed, []byte(pt)) {
			t.Fatalf("sealed value contains the plaintext %q", pt)
		}
		got, err := c.Open(sealed)
		if err != nil {
			t.Fatalf("open %q: %v", pt, err)
		}
		if string(got) != pt {
			t.Fatalf("round trip: got %q want %q", got, pt)
		}
	}
}

func TestSealIsRandomised(t *testing.T) {
	c, _ := secret.New(testKey(1))
	a, _ := c.Seal([]byte("same"))
	b, _ := c.Seal([]byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are identical: nonce is not random")
	}
	if a[0] != 1 || b[0] != 1 {
		t.Fatalf("version byte = %d, %d; want 1", a[0], b[0])
	}
}

func TestOpenRejects(t *testing.T) {
	c, _ := secret.New(testKey(1))
	other, _ := secret.New(testKey(2))
	sealed, _ := c.Seal([]byte("secret"))

	if _, err := other.Open(sealed); !errors.Is(err, secret.ErrWrongKey) {
		t.Errorf("open with another key: err = %v, want ErrWrongKey", err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x80
		if _, err := c.Open(bad); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	for _, bad := range [][]byte{nil, {1}, sealed[:len(sealed)-1], append([]byte{9}, sealed[1:]...)} {
		if _, err := c.Open(bad); err == nil {
			t.Errorf("open(%x) succeeded", bad)
		}
	}
}

func TestNewRejectsWrongKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := secret.New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
}

func TestLoadKeyConfiguredWins(t *testing.T) {
	want := testKey(7)
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(testKey(9))), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, configured := range []string{
		base64.StdEncoding.EncodeToString(want),
		base64.RawURLEncoding.EncodeToString(want),
		hex.EncodeToString(want),
		"  " + hex.EncodeToString(want) + "\n",
	} {
		key, created, err := secret.LoadKey(configured, file)
		if err != nil || created || !bytes.Equal(key, want) {
			t.Errorf("LoadKey(%q) = %x, %v, %v", configured, key, created, err)
		}
	}
}

func TestLoadKeyConfiguredInvalid(t *testing.T) {
	for _, configured := range []string{"short", hex.EncodeToString(make([]byte, 16)), base64.StdEncoding.EncodeToString(make([]byte, 31))} {
		if _, _, err := secret.LoadKey(configured, filepath.Join(t.TempDir(), "key")); err == nil {
			t.Errorf("LoadKey(%q) accepted a bad key", configured)
		}
	}
}

func TestLoadKeyCreatesThenReads(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "secret.key")
	key, created, err := secret.LoadKey("", file)
	if err != nil || !created || len(key) != secret.KeySize {
		t.Fatalf("first load: %x %v %v", key, created, err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	again, created, err := secret.LoadKey("", file)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second load: %x %v %v (want %x, not created)", again, created, err, key)
	}
	if bytes.Equal(key, make([]byte, secret.KeySize)) {
		t.Fatal("created key is all zeros")
	}
}

func TestLoadKeyConcurrentCreateAgrees(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key")
	const n = 8
	keys := make([][]byte, n)
	var created int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, c, err := secret.LoadKey("", file)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			keys[i] = k
			if c {
				created++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d loaders report creating the key, want 1", created)
	}
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("loader %d got a different key", i)
		}
	}
}

func TestLoadKeyBadFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := secret.LoadKey("", file); err == nil {
		t.Fatal("a garbage key file was accepted")
	}
	if _, _, err := secret.LoadKey("", ""); err == nil {
		t.Fatal("no key and no file was accepted")
	}
}
