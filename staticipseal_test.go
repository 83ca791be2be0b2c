package subgate_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
)

func TestSplitStaticUpstream(t *testing.T) {
	for in, want := range map[string][3]string{
		"10.0.0.1:8080:user:pass":         {"10.0.0.1:8080:user", "pass", "y"},
		"socks5://h:1080:u:p:with:colons": {"socks5://h:1080:u", "p:with:colons", "y"},
		"http://[2001:db8::2]:1080:u:p":   {"http://[2001:db8::2]:1080:u", "p", "y"},
		"h:1080":                          {"h:1080", "", ""},
		"h:1080:u":                        {"h:1080:u", "", ""},
	} {
		id, pass, ok := subgate.SplitStaticUpstream(in)
		if id != want[0] || pass != want[1] || ok != (want[2] == "y") {
			t.Errorf("%s: %q %q %v, want %v", in, id, pass, ok, want)
		}
	}
}

func TestSealStaticUpstream(t *testing.T) {
	c, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	// Passwords are long enough that a random ciphertext never holds one by chance.
	for _, up := range []string{"socks5://10.0.0.1:1080:user:s3cr:et-long-enough", "[2001:db8::2]:80:u:pw-long-enough", "h:80", "h:80:u:"} {
		stored, err := subgate.SealStaticUpstream(c, up)
		if err != nil {
			t.Fatal(err)
		}
		if _, pass, _ := subgate.SplitStaticUpstream(up); pass != "" && strings.Contains(stored, pass) {
			t.Errorf("%s is stored with its password: %s", up, stored)
		}
		if !strings.HasPrefix(stored, subgate.StaticUpstreamIdentity(up)) {
			t.Errorf("%s: stored %s does not start with its identity", up, stored)
		}
		back, err := subgate.OpenStaticUpstream(c, stored)
		if err != nil || back != up {
			t.Errorf("%s: opened %q, %v", up, back, err)
		}
	}
	// Values stored before sealing read as they are.
	if got, err := subgate.OpenStaticUpstream(c, "h:80:u:plain"); err != nil || got != "h:80:u:plain" {
		t.Errorf("legacy value: %q, %v", got, err)
	}
	other, _ := secret.New(bytes.Repeat([]byte{8}, secret.KeySize))
	stored, _ := subgate.SealStaticUpstream(c, "h:80:u:pw")
	if _, err := subgate.OpenStaticUpstream(other, stored); err == nil {
		t.Error("opened with the wrong key")
	}
	if got := subgate.RedactStaticUpstream("socks5://h:80:u:pw"); got != "socks5://h:80:u:"+subgate.RedactedPassword {
		t.Errorf("redacted: %s", got)
	}
}

func TestStaticUpstreamMatch(t *testing.T) {
	for in, want := range map[string][2]string{
		"h:80":               {"h:80", ""},
		"h:80:u":             {"h:80:u", "h:80:u:"},
		"socks5://h:80:u:pw": {"socks5://h:80:u", "socks5://h:80:u:"},
		"[::1]:80:u:p":       {"[::1]:80:u", "[::1]:80:u:"},
	} {
		id, prefix := subgate.StaticUpstreamMatch(in)
		if id != want[0] || prefix != want[1] {
			t.Errorf("%s: %q %q, want %v", in, id, prefix, want)
		}
	}
}
