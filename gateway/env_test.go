package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
)

var admin = subgate.Principal{Admin: true}

// env is a real SQLite store in a temporary directory, a service on it, a
// reseller with a pool, a running gateway and a loopback origin.
type env struct {
	t        testing.TB
	path     string
	store    *sqlite.Store
	svc      *subgate.Service
	reseller *subgate.Reseller
	gw       *gateway.Gateway
	origin   *origin
	reg      *prometheus.Registry
	// clock, when a test gives the gateway one, is shared by the service
	// and by gateways started after a restart.
	clock func() time.Time
}

type envOption func(*gateway.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "subgate.db")}
	e.openStore()
	r, err := e.svc.CreateReseller(context.Background(), admin, subgate.ResellerCreate{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreditPool(context.Background(), admin, r.ID, subgate.ProductAny, 100*subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreditPool(context.Background(), admin, r.ID, subgate.ProductResidential, 100*subgate.BytesPerGB, ""); err != nil {
		t.Fatal(err)
	}
	e.reseller = r
	e.origin = newOrigin(t)
	e.startGateway(opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		e.gw.Shutdown(ctx)
		e.store.Close()
	})
	return e
}

var testKey = bytes.Repeat([]byte{7}, secret.KeySize)

func (e *env) openStore() {
	c, err := secret.New(testKey)
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := sqlite.Open(e.path, c)
	if err != nil {
		e.t.Fatal(err)
	}
	e.store = st
	e.svc = subgate.NewService(st)
	if e.clock != nil {
		e.svc.Now = e.clock
	}
}

func (e *env) startGateway(opts ...envOption) {
	e.reg = prometheus.NewRegistry()
	cfg := gateway.Config{
		ProxyAddr:  "127.0.0.1:0",
		Store:      e.store,
		Service:    e.svc,
		Registerer: e.reg,
		Logger:     testLogger(),
		// The origin is on loopback.
		AllowPrivateTargets: true,
	}
	if e.clock != nil {
		cfg.Now = e.clock
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Now != nil {
		e.clock = cfg.Now
		e.svc.Now = cfg.Now
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := gw.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.gw = gw
}

// restart shuts the gateway down gracefully, reopens the store file and
// starts a new gateway on it.
func (e *env) restart() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := e.gw.Shutdown(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.store.Close()
	e.openStore()
	e.startGateway()
}

const testPassword = "pw-secret1"

func (e *env) createUser(name string, traffic map[subgate.Product]int64, mod func(*subgate.SubUserCreate)) *subgate.SubUser {
	e.t.Helper()
	c := subgate.SubUserCreate{Username: name, Password: testPassword, Traffic: traffic}
	if mod != nil {
		mod(&c)
	}
	u, err := e.svc.CreateSubUser(context.Background(), admin, e.reseller.ID, c, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) user(id int64) *subgate.SubUser {
	e.t.Helper()
	u, err := e.svc.SubUser(context.Background(), admin, strconv.FormatInt(id, 10))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) flush() {
	e.t.Helper()
	if err := e.gw.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) proxyURL(user, pass string) *url.URL {
	return &url.URL{Scheme: "http", User: url.UserPassword(user, pass), Host: e.gw.ProxyAddr().String()}
}

func (e *env) httpClient(user, pass string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(e.proxyURL(user, pass))}}
}

// connect opens a CONNECT tunnel; the response is returned when not 200.
func (e *env) connect(user, pass, target string) (net.Conn, *http.Response) {
	e.t.Helper()
	return connectVia(e.t, e.gw.ProxyAddr().String(), user, pass, target)
}

func connectVia(t testing.TB, proxy, user, pass, target string) (net.Conn, *http.Response) {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxy, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return connectOn(t, c, user, pass, target)
}

// connectOn sends CONNECT over c, a fresh connection to the proxy; the
// response is returned when not 200, with c closed.
func connectOn(t testing.TB, c net.Conn, user, pass, target string) (net.Conn, *http.Response) {
	t.Helper()
	io.WriteString(c, connectRequest(user, pass, target))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, resp
	}
	if br.Buffered() > 0 {
		t.Fatal("gateway sent bytes after the CONNECT answer")
	}
	return c, nil
}

func connectRequest(user, pass, target string) string {
	auth := ""
	if user != "" {
		auth = "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)) + "\r\n"
	}
	return fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", target, target, auth)
}

// connectBytes is what opening a tunnel with connectVia sends and
// receives; the gateway charges it like the tunnel's own bytes.
func connectBytes(user, pass, target string) int64 {
	return int64(len(connectRequest(user, pass, target)) + len("HTTP/1.1 200 Connection established\r\n\r\n"))
}

// origin serves HTTP on loopback: /bytes?n=N answers N bytes; /stream
// writes until the client goes; /hold?n=N writes N bytes then waits for
// release. It counts the body bytes it wrote.
type origin struct {
	srv     *http.Server
	addr    string
	written atomic.Int64
	mu      sync.Mutex
	release chan struct{}
}

func newOrigin(t testing.TB) *origin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{addr: ln.Addr().String(), release: make(chan struct{})}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	mux := http.NewServeMux()
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		for n > 0 {
			k, err := w.Write(chunk[:min(n, len(chunk))])
			o.written.Add(int64(k))
			if err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		r.Header.Write(w)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		deadline := time.Now().Add(20 * time.Second)
		pace := r.URL.Query().Get("pace") != ""
		for i := 0; i < 1<<16 && time.Now().Before(deadline); i++ {
			k, err := w.Write(chunk)
			o.written.Add(int64(k))
			if err != nil {
				return
			}
			if pace {
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(2*n))
		for left := n; left > 0; {
			k, err := w.Write(chunk[:min(left, len(chunk))])
			o.written.Add(int64(k))
			if err != nil {
				return
			}
			left -= k
		}
		w.(http.Flusher).Flush()
		o.mu.Lock()
		ch := o.release
		o.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	o.srv = &http.Server{Handler: mux}
	go o.srv.Serve(ln)
	t.Cleanup(func() { o.srv.Close() })
	return o
}

// getOver sends one GET over an open tunnel and returns the response.
func getOver(t testing.TB, c net.Conn, target, path string) (*http.Response, int) {
	t.Helper()
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, target)
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, len(req)
}

// deadAddr is a loopback address that refuses connections. A socket is
// bound to it but never listens, so, unlike a closed listener's port, no
// other listener can take the port while the test runs.
func deadAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// patience bounds every wait for something the gateway does "at once" or
// "within a second": generous, so that a loaded machine running the tests
// under the race detector does not fail them. Precise timing is for the
// benchmarks.
const patience = 10 * time.Second

// atNoon runs the gateway and the service on a clock that starts at noon
// UTC of the current day and then runs at the wall clock's pace, so that
// no day, month or hour window turns while a test runs.
func atNoon(c *gateway.Config) {
	start := time.Now()
	noon := start.UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	c.Now = func() time.Time { return noon.Add(time.Since(start)) }
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type gatewayConfig = gateway.Config

type httpResponse = http.Response
