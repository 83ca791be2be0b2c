package pgtest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// PgBouncer is a PgBouncer process in transaction mode in front of the test
// server, serving one schema: what an operator puts in front of the pooled
// connections of many nodes.
type PgBouncer struct {
	// URL reaches the schema through the pooler, with the statement mode a
	// pooler in transaction mode needs (default_query_exec_mode=exec).
	URL string
	// Pid is the pooler's process id.
	Pid int
}

// BouncerBinary is the PgBouncer executable the tests that need one start:
// SUBGATE_TEST_PGBOUNCER, or "" when it is unset.
func BouncerBinary() string { return os.Getenv("SUBGATE_TEST_PGBOUNCER") }

// StartPgBouncer starts binary on a free loopback port with a configuration
// of its own, in front of the server at BaseURL, with at most serverConns
// connections to it; every server connection it opens works in schema. The
// process is stopped when the test ends.
func StartPgBouncer(t testing.TB, binary, schema string, serverConns int) *PgBouncer {
	t.Helper()
	base, err := url.Parse(BaseURL())
	if err != nil {
		t.Fatalf("SUBGATE_TEST_POSTGRES must be a postgres:// URL: %v", err)
	}
	port := freePort(t)
	dir := t.TempDir()
	ini := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(ini, []byte(bouncerConfig(base, schema, port, serverConns)), 0o644); err != nil {
		t.Fatal(err)
	}
	// PgBouncer refuses to run as root; it reads its configuration first,
	// then becomes the configured user.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, ini)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start PgBouncer %s: %v", binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) //nolint:errcheck // it may have exited
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill() //nolint:errcheck
			<-exited
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("PgBouncer exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("PgBouncer does not listen on %s: %v\n%s", addr, err, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	u := *base
	u.Host = addr
	u.Path = "/" + bouncerDB
	q := u.Query()
	q.Set("default_query_exec_mode", "exec")
	u.RawQuery = q.Encode()
	return &PgBouncer{URL: u.String(), Pid: cmd.Process.Pid}
}

// bouncerDB is the database name clients give the pooler.
const bouncerDB = "subgate"

// bouncerConfig is a configuration for one pooled database. The schema is
// set once on each server connection (connect_query), as ALTER ROLE … SET
// search_path does in production: a pooler before 1.20 refuses search_path
// among a client's startup parameters.
func bouncerConfig(server *url.URL, schema string, port, serverConns int) string {
	host, sport := server.Hostname(), server.Port()
	if sport == "" {
		sport = "5432"
	}
	dbUser := server.User.Username()
	password, _ := server.User.Password()
	conn := fmt.Sprintf("host=%s port=%s dbname=%s user=%s connect_query='SET search_path TO %s'",
		host, sport, strings.TrimPrefix(server.Path, "/"), dbUser, schema)
	if password != "" {
		conn += " password=" + password
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[databases]\n%s = %s\n\n[pgbouncer]\n", bouncerDB, conn)
	fmt.Fprintf(&b, "listen_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n", port)
	// Clients are the tests themselves; the server connections log in as
	// the user named above.
	b.WriteString("auth_type = any\npool_mode = transaction\nmax_client_conn = 2000\n")
	fmt.Fprintf(&b, "default_pool_size = %d\nmax_db_connections = %d\nreserve_pool_size = 0\n", serverConns, serverConns)
	b.WriteString("ignore_startup_parameters = extra_float_digits\nlog_connections = 0\nlog_disconnections = 0\n")
	if os.Geteuid() == 0 {
		name := "nobody"
		if _, err := user.Lookup("postgres"); err == nil {
			name = "postgres"
		}
		fmt.Fprintf(&b, "user = %s\n", name)
	}
	return b.String()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
