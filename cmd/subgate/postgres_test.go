package main

import (
	"strings"
	"testing"

	"github.com/subgate/subgate/internal/pgtest"
)

// freshSchema returns a URL of the test database confined to a new schema,
// dropped when the test ends.
func freshSchema(t *testing.T) string {
	t.Helper()
	return pgtest.NewSchema(t, "subgate_cli_").URL
}

// Two nodes on one PostgreSQL database with a shared key see the same
// sub-users and passwords.
func TestServeOnPostgreSQL(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SUBGATE_DB":          freshSchema(t),
		"SUBGATE_SECRET_KEY":  strings.Repeat("ab", 32),
		"SUBGATE_ADMIN_TOKEN": testAdminToken,
	}
	node1 := startServe(t, env)
	node2 := startServe(t, env)
	node1.ok(t, testAdminToken, "reseller", "create", "Acme")
	node1.ok(t, testAdminToken, "reseller", "credit", "1", "10GB")
	tok := strings.TrimSpace(node1.ok(t, testAdminToken, "reseller", "token", "1"))
	node2.ok(t, tok, "subuser", "create", "alice", "--password", "shared1pw", "--traffic", "res=4GB")
	out := node1.ok(t, tok, "subuser", "show", "1")
	if !strings.Contains(out, "shared1pw") || !strings.Contains(out, "4.00 GB available") {
		t.Fatalf("node 1 sees: %s", out)
	}
	if out := node2.ok(t, tok, "reseller", "me"); !strings.Contains(out, "pool res   6.00 GB") {
		t.Fatalf("node 2 pools: %s", out)
	}
	if strings.Contains(node1.stderr.String(), "secret@") {
		t.Fatal("database URL logged with its password")
	}
}
