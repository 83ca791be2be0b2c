package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
	"github.com/subgate/subgate/storetest"
)

func testCipher(t testing.TB) subgate.Cipher {
	c, err := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openAt(t testing.TB, path string) *sqlite.Store {
	s, err := sqlite.Open(path, testCipher(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// template is a migrated, empty database file that tests copy: migrating
// takes a large share of a small test's time under the race detector.
var template = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "subgate-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "subgate.db")
	c, err := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	if err != nil {
		return nil, err
	}
	s, err := sqlite.Open(path, c)
	if err != nil {
		return nil, err
	}
	if err := s.Close(); err != nil { // checkpoints the WAL into the file
		return nil, err
	}
	return os.ReadFile(path)
})

// openTest opens a fresh store in a temporary directory.
func openTest(t testing.TB) *sqlite.Store {
	b, err := template()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "subgate.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return openAt(t, path)
}

func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) subgate.Store { return openTest(t) })
}

func TestStoreContractExtra(t *testing.T) {
	storetest.RunExtra(t, func(t *testing.T) subgate.Store { return openTest(t) })
}

// TestPasswordSealedAtRest reads the database files themselves: the proxy
// password must not appear, while the username (stored plainly) does, which
// shows the scan would have found it.
func TestPasswordSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "subgate.db"))
	ctx := context.Background()
	r := &subgate.Reseller{Name: "r"}
	if err := s.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	const username, password = "plainly_stored_name", "Very-Distinct-Proxy-Pw-9"
	u := &subgate.SubUser{ResellerID: r.ID, Username: username, Password: password, Status: subgate.StatusActive}
	if err := s.CreateSubUser(ctx, u, nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	all, files := databaseBytes(t, dir)
	if !bytes.Contains(all, []byte(username)) {
		t.Fatalf("username not found in %v: the scan cannot see stored text", files)
	}
	if bytes.Contains(all, []byte(password)) {
		t.Fatal("the proxy password is stored in plain text")
	}
	// Reopened with the same key it reads back.
	s = openAt(t, filepath.Join(dir, "subgate.db"))
	got, err := s.SubUserByUsername(ctx, username)
	if err != nil || got.Password != password {
		t.Fatalf("reopened: %v, %v", got, err)
	}
}

func TestMigrationsApplyOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subgate.db")
	s := openAt(t, path)
	ctx := context.Background()
	if err := s.SetSetting(ctx, "kept", "yes"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path) // a second open must not re-run migrations
	if v, err := s.Setting(ctx, "kept"); err != nil || v != "yes" {
		t.Fatalf("setting after reopen = %q, %v", v, err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, maxV int
	if err := db.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if n < 2 || maxV < 2 {
		t.Fatalf("schema_migrations has %d rows up to %d", n, maxV)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode = %q, %v", mode, err)
	}
}

func TestOpenNeedsCipher(t *testing.T) {
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "x.db"), nil); err == nil {
		t.Fatal("opened without a cipher")
	}
}

// TestTwoStoresOneFile opens the same file twice, as two processes would:
// write transactions start IMMEDIATE and wait on each other, so concurrent
// read-then-write transfers neither fail nor lose bytes.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := openAt(t, path), openAt(t, path)
	ctx := context.Background()
	r := &subgate.Reseller{Name: "r"}
	if err := a.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: "res", Bytes: 100_000}); err != nil {
		t.Fatal(err)
	}
	u := &subgate.SubUser{ResellerID: r.ID, Username: "shared", Password: "pw12345", Status: subgate.StatusActive}
	if err := a.CreateSubUser(ctx, u, nil, ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			if _, err := s.Transfer(ctx, subgate.Transfer{SubUserID: u.ID, Product: "res", Bytes: 100}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := b.SubUser(ctx, 0, u.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Traffic["res"].Available != 4000 {
		t.Fatalf("available = %d, want 4000", got.Traffic["res"].Available)
	}
	storetest.CheckInvariant(t, a, r.ID)
}

// databaseBytes reads every file of the store in dir (database, WAL, shared
// memory) as raw bytes, for tests that check what is stored in the clear.
func databaseBytes(t *testing.T, dir string) ([]byte, []string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "subgate.db*"))
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all, files
}
