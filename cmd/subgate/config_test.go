package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadTestConfig(t *testing.T, env map[string]string, args ...string) (config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cf := bindConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: mapEnv(env)}
	return a.loadConfig(cf)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	c, err := loadTestConfig(t, nil)
	if err != nil || c != defaultConfig() {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	yaml := writeFile(t, "subgate.yaml", "db: /from/file.db\napi_addr: 127.0.0.1:7001\ntimezone: Europe/Berlin\nadmin_token: file-token-0123456789\n")
	env := map[string]string{"SUBGATE_API_ADDR": "127.0.0.1:7002", "SUBGATE_TIMEZONE": "Asia/Tokyo"}
	c, err = loadTestConfig(t, env, "--config", yaml, "--timezone", "America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.DB, want.APIAddr, want.Timezone, want.AdminToken = "/from/file.db", "127.0.0.1:7002", "America/New_York", "file-token-0123456789"
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	// SUBGATE_CONFIG names the file too; JSON works as well.
	js := writeFile(t, "subgate.json", `{"db":"postgres://u@127.0.0.1/x","secret_key_file":"/k"}`)
	c, err = loadTestConfig(t, map[string]string{"SUBGATE_CONFIG": js, "SUBGATE_DB": "./env.db"})
	if err != nil || c.DB != "./env.db" || c.SecretKeyFile != "/k" {
		t.Fatalf("json: %+v %v", c, err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"typo.yaml":  "api_adr: 1\n",
		"bad.json":   `{"db":`,
		"type.yaml":  "db: [1, 2]\n",
		"other.json": `{"listen":"x"}`,
	} {
		if _, err := loadTestConfig(t, nil, "--config", writeFile(t, name, content)); err == nil {
			t.Errorf("%s: accepted %q", name, content)
		}
	}
	if _, err := loadTestConfig(t, nil, "--config", filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing config file was accepted")
	}
}

func TestKeyFileLocation(t *testing.T) {
	t.Parallel()
	if f, err := keyFileFor(config{DB: "/var/lib/subgate/data.db"}); err != nil || f != "/var/lib/subgate/data.key" {
		t.Fatalf("sqlite: %q %v", f, err)
	}
	if f, err := keyFileFor(config{DB: "/x/y/store", SecretKeyFile: "/etc/k"}); err != nil || f != "/etc/k" {
		t.Fatalf("configured: %q %v", f, err)
	}
	if _, err := keyFileFor(config{DB: "postgres://127.0.0.1/x"}); err == nil || !strings.Contains(err.Error(), "SUBGATE_SECRET_KEY") {
		t.Fatalf("postgres without a key: %v", err)
	}
	if f, err := keyFileFor(config{DB: "postgresql://127.0.0.1/x", SecretKey: "k"}); err != nil || f != "" {
		t.Fatalf("postgres with a key: %q %v", f, err)
	}
}

func TestServeRejectsBadSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		env  map[string]string
		args []string
		msg  string
	}{
		{map[string]string{"SUBGATE_TIMEZONE": "Mars/Olympus"}, nil, "timezone"},
		{map[string]string{"SUBGATE_ADMIN_TOKEN": "short"}, nil, "SUBGATE_ADMIN_TOKEN"},
		{map[string]string{"SUBGATE_DB": "postgres://127.0.0.1:5432/test"}, nil, "SUBGATE_SECRET_KEY"},
		{map[string]string{"SUBGATE_SECRET_KEY": "not-a-key"}, nil, "key"},
		{nil, []string{"--log-level", "loud"}, "log level"},
		{nil, []string{"--store-timeout", "soon"}, "store timeout"},
		{map[string]string{"SUBGATE_STORE_TIMEOUT": "-1s"}, nil, "store timeout"},
		{nil, []string{"extra"}, "want no arguments"},
	} {
		env := map[string]string{"SUBGATE_DB": filepath.Join(dir, "x.db")}
		for k, v := range c.env {
			env[k] = v
		}
		var out, errOut syncBuffer
		a := &app{stdout: &out, stderr: &errOut, getenv: mapEnv(env)}
		code := a.main(t.Context(), append([]string{"serve", "--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0"}, c.args...))
		if code == 0 || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("%v %v: exit %d, %s", c.env, c.args, code, errOut.String())
		}
	}
}

func TestConfigPoolSettings(t *testing.T) {
	t.Parallel()
	yaml := writeFile(t, "subgate.yaml", "db_pool_size: 4\ndb_session_url: postgres://u@10.0.0.1:5432/x\n")
	c, err := loadTestConfig(t, nil, "--config", yaml)
	if err != nil || c.DBPoolSize != 4 || c.DBSessionURL != "postgres://u@10.0.0.1:5432/x" {
		t.Fatalf("file: %+v %v", c, err)
	}
	c, err = loadTestConfig(t, map[string]string{"SUBGATE_DB_POOL_SIZE": "6", "SUBGATE_DB_SESSION_URL": "postgres://e@127.0.0.1/x"}, "--config", yaml)
	if err != nil || c.DBPoolSize != 6 || c.DBSessionURL != "postgres://e@127.0.0.1/x" {
		t.Fatalf("env: %+v %v", c, err)
	}
	c, err = loadTestConfig(t, map[string]string{"SUBGATE_DB_POOL_SIZE": "6"}, "--db-pool-size", "8")
	if err != nil || c.DBPoolSize != 8 {
		t.Fatalf("flag: %+v %v", c, err)
	}
	if _, err := loadTestConfig(t, map[string]string{"SUBGATE_DB_POOL_SIZE": "many"}); err == nil || !strings.Contains(err.Error(), "SUBGATE_DB_POOL_SIZE") {
		t.Fatalf("bad pool size: %v", err)
	}
	bad := writeFile(t, "bad.yaml", "db_pool_size: -1\n")
	if _, err := loadTestConfig(t, nil, "--config", bad); err == nil {
		t.Fatal("a negative pool size in the file was accepted")
	}
}
