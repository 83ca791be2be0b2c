package main

import (
	"context"
	"strings"
	"testing"
)

func TestCLISubUserBulk(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveEnv(t))
	s.ok(t, testAdminToken, "reseller", "create", "Acme")
	tok := strings.TrimSpace(s.ok(t, testAdminToken, "reseller", "token", "1"))
	for _, name := range []string{"ann", "ben", "cid"} {
		s.ok(t, tok, "subuser", "create", name)
	}
	out := s.ok(t, tok, "subuser", "bulk", "ann", "2", "--status", "disabled", "--daily", "1GB")
	if strings.Count(out, "disabled") != 2 || strings.Contains(out, "cid") {
		t.Fatalf("bulk by username and id: %s", out)
	}
	if show := s.ok(t, tok, "subuser", "show", "ben"); !strings.Contains(show, "disabled") || !strings.Contains(show, "limit daily") {
		t.Fatalf("ben after the bulk update: %s", show)
	}

	// References from stdin; one that is not the caller's changes nothing.
	var out2, errOut syncBuffer
	a := &app{stdin: strings.NewReader("1\n2\n999\n"), stdout: &out2, stderr: &errOut,
		getenv: mapEnv(map[string]string{"SUBGATE_API_URL": s.url, "SUBGATE_TOKEN": tok})}
	if code := a.main(context.Background(), []string{"subuser", "bulk", "-", "--status", "active"}); code == 0 || !strings.Contains(errOut.String(), "not found") {
		t.Fatalf("bulk with an unknown ref: exit %d: %s%s", code, errOut.String(), out2.String())
	}
	if show := s.ok(t, tok, "subuser", "show", "ann"); !strings.Contains(show, "disabled") {
		t.Fatalf("a refused bulk update changed ann: %s", show)
	}
	a.stdin = strings.NewReader("1 2 3")
	if code := a.main(context.Background(), []string{"subuser", "bulk", "-", "--note", "batch"}); code != 0 {
		t.Fatalf("bulk from stdin: exit %d: %s", code, errOut.String())
	}
	if show := s.ok(t, tok, "subuser", "show", "cid"); !strings.Contains(show, "batch") {
		t.Fatalf("cid after the bulk note: %s", show)
	}
}
