package main

import (
	"context"
	"strings"
	"testing"
)

// cred_cache_size comes from the flag, else the environment, else the file;
// a value that is not a whole number stops serve, naming it.
func TestCredCacheSizeSetting(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "subgate.yaml", "cred_cache_size: 30\n")
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want int
	}{
		{nil, nil, 0},
		{nil, []string{"--config", file}, 30},
		{map[string]string{"SUBGATE_CRED_CACHE_SIZE": "20"}, []string{"--config", file}, 20},
		{map[string]string{"SUBGATE_CRED_CACHE_SIZE": "20"}, []string{"--config", file, "--cred-cache-size", "10"}, 10},
	} {
		c, err := loadTestConfig(t, tc.env, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if int(c.CredCacheSize) != tc.want {
			t.Errorf("%v %v: %d, want %d", tc.env, tc.args, c.CredCacheSize, tc.want)
		}
	}
	env := serveEnv(t)
	env["SUBGATE_CRED_CACHE_SIZE"] = "lots"
	var out, errOut syncBuffer
	a := &app{stdout: &out, stderr: &errOut, getenv: mapEnv(env)}
	if code := a.main(context.Background(), []string{"serve", "--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0"}); code == 0 || !strings.Contains(errOut.String(), "SUBGATE_CRED_CACHE_SIZE") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
}
