//go:build unix

package gateway_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/subgate/subgate"
)

// Benchmarks compare, in one run, a loopback origin reached directly, through
// an unmetered Go relay (the reference for any relay on this machine) and
// through the gateway (CONNECT and SOCKS5):
//
//	go test -run '^$' -bench . -benchtime 2s ./gateway
//
// Bulk reports MB/s, NewTunnel ns per tunnel with one small request,
// RoundTrip a p50-ns metric per tunnelled request, IdleTunnelMemory the
// gateway's bytes per idle tunnel.

// benchOrigin speaks a tiny protocol: 'D' and an 8-byte length asks for
// that many bytes (then the origin closes); 'E' echoes until EOF.
type benchOrigin struct{ addr string }

func newBenchOrigin(b *testing.B) *benchOrigin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	payload := make([]byte, 1<<20)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveBench(c, payload)
		}
	}()
	return &benchOrigin{addr: ln.Addr().String()}
}

func serveBench(c net.Conn, payload []byte) {
	defer c.Close()
	var cmd [1]byte
	if _, err := io.ReadFull(c, cmd[:]); err != nil {
		return
	}
	switch cmd[0] {
	case 'D':
		var l [8]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		for n := int64(binary.BigEndian.Uint64(l[:])); n > 0; {
			k, err := c.Write(payload[:min(n, int64(len(payload)))])
			if err != nil {
				return
			}
			n -= int64(k)
		}
	case 'E':
		buf := make([]byte, 512)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

type dialFunc func() (net.Conn, error)

// benchDialers returns the three ways to reach the origin.
func benchDialers(b *testing.B, e *env, origin string) []struct {
	name string
	dial dialFunc
} {
	relay := plainRelay(b, origin)
	socks, err := proxy.SOCKS5("tcp", e.gw.ProxyAddr().String(), &proxy.Auth{User: "bench", Password: testPassword}, proxy.Direct)
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		dial dialFunc
	}{
		{"direct", func() (net.Conn, error) { return net.Dial("tcp", origin) }},
		{"plain-relay", func() (net.Conn, error) { return net.Dial("tcp", relay) }},
		{"connect", func() (net.Conn, error) {
			c, bad := connectVia(b, e.gw.ProxyAddr().String(), "bench", testPassword, origin)
			if bad != nil {
				return nil, fmt.Errorf("CONNECT refused: %s", bad.Header.Get("X-Subgate-Error"))
			}
			return c, nil
		}},
		{"socks5", func() (net.Conn, error) { return socks.Dial("tcp", origin) }},
	}
}

// plainRelay is the reference point: an unmetered Go relay (io.Copy, which
// splices too) in front of the origin.
func plainRelay(b *testing.B, origin string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", origin)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, u)
			}()
		}
	}()
	return ln.Addr().String()
}

func benchEnv(b *testing.B) (*env, *benchOrigin) {
	e := newEnv(b)
	e.createUser("bench", map[subgate.Product]int64{subgate.ProductAny: 95 * gb}, nil)
	return e, newBenchOrigin(b)
}

// download asks for n bytes and reads them all.
func download(c net.Conn, n int64, buf []byte) error {
	var req [9]byte
	req[0] = 'D'
	binary.BigEndian.PutUint64(req[1:], uint64(n))
	if _, err := c.Write(req[:]); err != nil {
		return err
	}
	var got int64
	for got < n {
		k, err := c.Read(buf)
		got += int64(k)
		if err != nil {
			if got == n {
				break
			}
			return fmt.Errorf("after %d of %d bytes: %w", got, n, err)
		}
	}
	return nil
}

func BenchmarkBulk(b *testing.B) {
	e, o := benchEnv(b)
	const perOp = 64 << 20
	for _, streams := range []int{1, 8} {
		for _, d := range benchDialers(b, e, o.addr) {
			b.Run(fmt.Sprintf("streams=%d/%s", streams, d.name), func(b *testing.B) {
				b.SetBytes(perOp)
				for b.Loop() {
					var wg sync.WaitGroup
					errs := make(chan error, streams)
					for range streams {
						wg.Add(1)
						go func() {
							defer wg.Done()
							c, err := d.dial()
							if err != nil {
								errs <- err
								return
							}
							defer c.Close()
							errs <- download(c, perOp/int64(streams), make([]byte, 256<<10))
						}()
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						if err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

func BenchmarkNewTunnel(b *testing.B) {
	e, o := benchEnv(b)
	buf := make([]byte, 4096)
	for _, d := range benchDialers(b, e, o.addr) {
		b.Run(d.name, func(b *testing.B) {
			for b.Loop() {
				c, err := d.dial()
				if err != nil {
					b.Fatal(err)
				}
				if err := download(c, 100, buf); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	e, o := benchEnv(b)
	for _, d := range benchDialers(b, e, o.addr) {
		b.Run(d.name, func(b *testing.B) {
			c, err := d.dial()
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte{'E'})
			msg := make([]byte, 64)
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, msg); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
		})
	}
}

// BenchmarkIdleTunnelMemory opens idleTunnels connections directly, then
// the same number of CONNECT tunnels, and reports the gateway's share of
// the heap and stacks per idle tunnel (the client and origin ends are in
// both measurements and cancel out).
func BenchmarkIdleTunnelMemory(b *testing.B) {
	n := idleTunnelCount(b)
	e, o := benchEnv(b)
	dialers := benchDialers(b, e, o.addr)
	for b.Loop() {
		direct := holdIdle(b, dialers[0].dial, n)
		gw := holdIdle(b, dialers[2].dial, n)
		b.ReportMetric(float64(n), "tunnels")
		b.ReportMetric(float64(gw-direct)/float64(n), "gateway-B/tunnel")
	}
}

const idleTunnels = 10000

// idleTunnelCount raises the open-file limit for 10k tunnels (four
// descriptors each: client, gateway in and out, origin) or scales down to
// what the limit allows.
func idleTunnelCount(b *testing.B) int {
	want := uint64(4*idleTunnels + 2000)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < want {
		raised := syscall.Rlimit{Cur: max(want, lim.Cur), Max: max(want, lim.Max)}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) != nil {
			raised.Cur, raised.Max = min(want, lim.Max), lim.Max
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised)
		}
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	n := min(idleTunnels, int((lim.Cur-2000)/5)) // headroom for descriptors closing late
	if n < idleTunnels {
		b.Logf("open-file limit %d: measuring %d idle tunnels instead of %d", lim.Cur, n, idleTunnels)
	}
	return n
}

// holdIdle opens n echo connections, makes one round trip on each, lets
// them go idle and returns the heap and stack growth; then closes them.
func holdIdle(b *testing.B, dial dialFunc, n int) int64 {
	before := memInUse()
	conns := make([]net.Conn, 0, n)
	buf := make([]byte, 1)
	for range n {
		c, err := dial()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write([]byte{'E', 'x'}); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond) // copy steps time out and go idle
	after := memInUse()
	for _, c := range conns {
		c.Close()
	}
	time.Sleep(500 * time.Millisecond)
	return after - before
}

func memInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
