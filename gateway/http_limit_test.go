package gateway_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// A header block over 64 KiB is refused before it is buffered; the limit
// applies per request, so kept-alive requests each get the full allowance.
func TestOversizedRequestHeaderIsRefused(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	c, err := net.DialTimeout("tcp", e.gw.ProxyAddr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	auth := "Proxy-Authorization: Basic " + basicAuth("alice", testPassword) + "\r\n"
	pad := "X-Pad: " + strings.Repeat("a", 40<<10) + "\r\n" // under the limit, but twice over it in sum
	for range 2 {
		fmt.Fprintf(c, "GET http://%s/bytes?n=10 HTTP/1.1\r\nHost: %s\r\n%s%s\r\n", e.origin.addr, e.origin.addr, auth, pad)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request with a 40 KiB header: %d %s", resp.StatusCode, resp.Header.Get("X-Subgate-Error"))
		}
	}

	c2, err := net.DialTimeout("tcp", e.gw.ProxyAddr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	go fmt.Fprintf(c2, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nX-Pad: %s\r\n\r\n", e.origin.addr, e.origin.addr, strings.Repeat("a", 1<<20))
	resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Subgate-Error") != "bad_request" || !strings.Contains(string(body), "64 KiB") {
		t.Fatalf("oversized header: %d %s %q", resp.StatusCode, resp.Header.Get("X-Subgate-Error"), body)
	}
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
