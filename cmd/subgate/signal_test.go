package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this test binary as the real command: with
// SUBGATE_RUN_MAIN=1 it is "subgate" with SUBGATE_MAIN_ARGS, with
// SUBGATE_RUN_MAIN=argv "subgate" with its own arguments.
func TestMain(m *testing.M) {
	switch os.Getenv("SUBGATE_RUN_MAIN") {
	case "1":
		os.Args = append([]string{"subgate"}, strings.Fields(os.Getenv("SUBGATE_MAIN_ARGS"))...)
		main()
		return
	case "argv": // the command line as given, e.g. from a shell script
		os.Args = append([]string{"subgate"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

var listeningRE = regexp.MustCompile(`msg=listening component=api addr=(\S+)`)

// The real process stops cleanly on SIGTERM and SIGINT, closing the listener.
func TestServeStopsOnSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(),
				"SUBGATE_RUN_MAIN=1",
				"SUBGATE_MAIN_ARGS=serve --api-addr 127.0.0.1:0 --proxy-addr 127.0.0.1:0",
				"SUBGATE_DB="+filepath.Join(t.TempDir(), "s.db"),
				"SUBGATE_ADMIN_TOKEN="+testAdminToken,
			)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			addr := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
						addr <- m[1]
					}
				}
			}()
			var url string
			select {
			case a := <-addr:
				url = "http://" + a + "/v1/openapi.json"
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not start")
			}
			resp, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve exited with %v after %s", err, sig)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("serve still running 15 s after %s", sig)
			}
			if _, err := http.Get(url); err == nil {
				t.Fatal("the API still answers after shutdown")
			}
		})
	}
}
