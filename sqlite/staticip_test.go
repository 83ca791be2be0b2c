package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/subgate/subgate"

	"github.com/subgate/subgate/route/routetest"
)

func TestStaticIPs(t *testing.T) {
	routetest.RunStaticIPs(t, func(t *testing.T) routetest.Store { return openTest(t) })
}

// A static proxy's password is sealed in the database file; the rest of the
// entry is stored plainly, which shows the scan would have found it.
func TestStaticProxyPasswordSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "subgate.db"))
	const password = "Very-Distinct-Static-Pw-7"
	up := "socks5://static-proxy.example:1080:plainly_stored_user:" + password
	if err := s.AddStaticIPs(context.Background(), []*subgate.StaticIP{{Upstream: up, Country: "us"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	all, files := databaseBytes(t, dir)
	if !bytes.Contains(all, []byte("plainly_stored_user")) {
		t.Fatalf("user not found in %v: the scan cannot see stored text", files)
	}
	if bytes.Contains(all, []byte(password)) {
		t.Fatal("the static proxy password is stored in plain text")
	}
	s = openAt(t, filepath.Join(dir, "subgate.db"))
	got, err := s.StaticIPs(context.Background(), subgate.StaticIPFilter{})
	if err != nil || len(got) != 1 || got[0].Upstream != up {
		t.Fatalf("reopened: %v, %v", got, err)
	}
}
