package main

import (
	"strings"
	"testing"
)

func TestCLISharedFunding(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveEnv(t))
	s.ok(t, testAdminToken, "reseller", "create", "Acme")
	s.ok(t, testAdminToken, "reseller", "credit", "1", "10GB", "--product", "res")
	tok := strings.TrimSpace(s.ok(t, testAdminToken, "reseller", "token", "1"))

	out := s.ok(t, tok, "subuser", "create", "pooled", "--funding", "shared", "--usage-cap", "2GB")
	if !strings.Contains(out, "funding") || !strings.Contains(out, "shared") || !strings.Contains(out, "remaining res") {
		t.Fatalf("create shared: %s", out)
	}
	if _, errOut, code := s.cli(t, tok, "subuser", "give", "pooled", "1GB"); code != 1 || !strings.Contains(errOut, "HTTP 409") {
		t.Fatalf("give to a shared sub-user: %d %s", code, errOut)
	}
	if _, errOut, code := s.cli(t, tok, "subuser", "funding", "pooled", "pooling"); code != 1 || !strings.Contains(errOut, "field funding") {
		t.Fatalf("unknown mode: %d %s", code, errOut)
	}
	s.ok(t, tok, "subuser", "create", "given", "--traffic", "res=1GB")
	out = s.ok(t, tok, "subuser", "funding", "given", "shared")
	if !strings.Contains(out, "shared") {
		t.Fatalf("switch: %s", out)
	}
	if out := s.ok(t, tok, "subuser", "list"); !strings.Contains(out, "FUNDING") || strings.Count(out, "shared") != 2 {
		t.Fatalf("list: %s", out)
	}
}
