package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// walkthroughSkips are the README walkthrough lines the test does not run,
// each with the reason; every other line of its sh blocks runs.
var walkthroughSkips = map[string]string{
	"go run ./cmd/subgate serve &":      "the test runs serve itself, on free loopback ports",
	"go build -o subgate ./cmd/subgate": "the test provides ./subgate (this test binary acting as the command)",
}

// walkthroughSubstitutions make the walkthrough's addresses this test's.
// Keys are replaced in every line that runs.
func walkthroughSubstitutions(apiAddr, target string) map[string]string {
	return map[string]string{
		"127.0.0.1:8080":       apiAddr, // the API's default address
		"https://example.com/": target,  // a page the gateway may reach from here
	}
}

// walkthroughBlocks returns the sh blocks of the README's walkthrough
// section (up to the next level-2 heading).
func walkthroughBlocks(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "\n## Five-minute walkthrough\n")
	if start < 0 {
		t.Fatal("README has no walkthrough section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) < 5 {
		t.Fatalf("walkthrough has only %d sh blocks", len(blocks))
	}
	return blocks
}

// exportSubstRE is "export NAME=$(command)", whose failure export would
// hide from set -e.
var exportSubstRE = regexp.MustCompile(`^export (\w+)=(\$\(.*\))$`)

// walkthroughScript turns the blocks into one bash script that stops at the
// first command that fails; curl fails on HTTP errors, as a reader would
// notice them.
func walkthroughScript(t *testing.T, blocks []string, subst map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("set -euo pipefail\nshopt -s inherit_errexit\n")
	b.WriteString("curl() { command curl --silent --show-error --fail-with-body \"$@\"; echo; }\n")
	b.WriteString("set -x\n")
	skipped := map[string]bool{}
	for _, block := range blocks {
		for _, line := range strings.Split(block, "\n") {
			code, _, _ := strings.Cut(line, "  #") // trailing comments
			code = strings.TrimSpace(code)
			if reason, ok := walkthroughSkips[code]; ok {
				skipped[code] = true
				fmt.Fprintf(&b, "# skipped (%s): %s\n", reason, code)
				continue
			}
			for from, to := range subst {
				line = strings.ReplaceAll(line, from, to)
			}
			if m := exportSubstRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				line = m[1] + "=" + m[2] + "; export " + m[1]
			}
			b.WriteString(line + "\n")
		}
	}
	for line := range walkthroughSkips {
		if !skipped[line] {
			t.Errorf("allow-listed line %q is no longer in the walkthrough: drop it from the list", line)
		}
	}
	return b.String()
}

// freePort finds a loopback port nobody listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The README's walkthrough runs as written, command by command, against a
// real serve process: a command that fails fails the test, so the guide
// cannot drift from the product.
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("the walkthrough test needs bash")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the walkthrough test needs curl")
	}
	blocks := walkthroughBlocks(t)
	m := regexp.MustCompile(`(?m)^export SUBGATE_ADMIN_TOKEN=(\S+)$`).FindStringSubmatch(strings.Join(blocks, "\n"))
	if m == nil {
		t.Fatal("the walkthrough no longer sets SUBGATE_ADMIN_TOKEN")
	}
	adminToken := m[1]

	// A page for the walkthrough's curl through the gateway, which may reach
	// loopback targets here (the routes file allows private targets).
	var pageHits atomic.Int64
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHits.Add(1)
		fmt.Fprintln(w, "hello through the gateway")
	}))
	defer page.Close()

	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.json")
	os.WriteFile(routes, []byte(`{"allow_private_targets": true, "routes": {"res": {"kind": "direct"}, "dc": {"kind": "direct"}}}`), 0o600)
	proxyAddr := freePort(t)
	serveCmd := exec.Command(os.Args[0])
	serveCmd.Env = append(os.Environ(), "SUBGATE_RUN_MAIN=1",
		"SUBGATE_MAIN_ARGS=serve --api-addr 127.0.0.1:0 --proxy-addr "+proxyAddr+" --routes "+routes,
		"SUBGATE_DB="+filepath.Join(dir, "subgate.db"), "SUBGATE_ADMIN_TOKEN="+adminToken,
		// Password hashing under the race detector on a busy machine can
		// outlast the default request deadline; outages are tested elsewhere.
		"SUBGATE_STORE_TIMEOUT=1m")
	apiAddr := startProcess(t, serveCmd)

	// ./subgate is this test binary acting as the command.
	wrapper := fmt.Sprintf("#!/bin/sh\nSUBGATE_RUN_MAIN=argv exec %q \"$@\"\n", os.Args[0])
	if err := os.WriteFile(filepath.Join(dir, "subgate"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	script := walkthroughScript(t, blocks, walkthroughSubstitutions(apiAddr, page.URL+"/"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "bash", "-c", script)
	run.Dir = dir
	run.Env = withoutSubgateEnv(os.Environ())
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	run.Cancel = func() error { return syscall.Kill(-run.Process.Pid, syscall.SIGKILL) }
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	if pageHits.Load() == 0 {
		t.Fatalf("the curl through the gateway never reached the page:\n%s", out)
	}
	// It went through the gateway (an empty proxy URL would have let curl
	// go direct): bob's traffic shows as used once the gateway flushes.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page struct {
			Items []struct {
				Username string
				Used     int64
			}
		}
		adminGet(t, "http://"+apiAddr+"/v1/subusers?search=bob", adminToken, &page)
		if len(page.Items) == 1 && page.Items[0].Used > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob used nothing through the gateway: %+v\n%s", page, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The stc step did what it says.
	var reseller struct{ Pools map[string]int64 }
	if adminGet(t, "http://"+apiAddr+"/v1/resellers/1", adminToken, &reseller); reseller.Pools["stc"] != 5_000_000_000 {
		t.Fatalf("reseller 1's stc pool after the walkthrough: %+v", reseller)
	}
}

// adminGet reads an API answer into v.
func adminGet(t *testing.T, url, token string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
}

// withoutSubgateEnv drops the SUBGATE_ variables of the test's own
// environment, so the walkthrough starts from what it sets itself.
func withoutSubgateEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SUBGATE_") {
			out = append(out, kv)
		}
	}
	return out
}

// startProcess starts a serve process, waits until its API listens and
// returns the API address; the process is stopped with SIGTERM at the end of
// the test and must exit cleanly.
func startProcess(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var logs bytes.Buffer
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan error, 1)
		go func() { <-done; exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve exited with %v:\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Error("serve did not stop within 30 s of SIGTERM")
		}
	})
	select {
	case a := <-addr:
		return a
	case <-done:
		t.Fatalf("serve exited before listening:\n%s", logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	return ""
}
