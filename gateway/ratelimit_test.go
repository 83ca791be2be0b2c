package gateway_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// The README's login limits beyond the configured per-source one.
const (
	pairBurst    = 10              // per source and username
	accountBurst = 50              // per username, all sources
	accountEvery = 5 * time.Second // and one more failure this often
)

// loopback is 127.0.0.n: Linux routes all of 127/8 to the loopback
// interface, so a test can log in from many source addresses.
func loopback(n int) *net.TCPAddr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))} }

// connectFrom opens a CONNECT tunnel from the local address from; the
// response is returned when not 200.
func connectFrom(t testing.TB, e *env, from *net.TCPAddr, user, pass string) (net.Conn, *http.Response) {
	t.Helper()
	d := net.Dialer{LocalAddr: from, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", e.gw.ProxyAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	return connectOn(t, c, user, pass, e.origin.addr)
}

// codeFrom is the refusal code of a CONNECT from from, "" when admitted.
func codeFrom(t testing.TB, e *env, from *net.TCPAddr, user, pass string) string {
	t.Helper()
	return outcome(connectFrom(t, e, from, user, pass))
}

// outcome is the refusal code of a CONNECT answered bad, or "" when it
// was admitted, closing the tunnel c.
func outcome(c net.Conn, bad *http.Response) string {
	if bad != nil {
		return bad.Header.Get("X-Subgate-Error")
	}
	c.Close()
	return ""
}

// socksLogin logs in over SOCKS5 from the local address from and reports
// whether the gateway accepted the credentials.
func socksLogin(t testing.TB, e *env, from *net.TCPAddr, user, pass string) bool {
	t.Helper()
	d, err := proxy.SOCKS5("tcp", e.gw.SOCKSAddr().String(), &proxy.Auth{User: user, Password: pass},
		&net.Dialer{LocalAddr: from, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Dial("tcp", e.origin.addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// One correct login from an address buys no exemption for wrong passwords
// from there: after the burst they are refused unchecked, and so is the
// right one; the same username from another address still works.
func TestWrongPasswordsAfterASuccessAreLimited(t *testing.T) {
	t.Run("connect", func(t *testing.T) {
		e := newEnv(t)
		e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
		if code := codeFrom(t, e, loopback(1), "alice", testPassword); code != "" {
			t.Fatalf("alice refused: %s", code)
		}
		var codes []string
		for i := 0; i < 100 && (len(codes) == 0 || codes[len(codes)-1] != "auth_rate_limited"); i++ {
			codes = append(codes, codeFrom(t, e, loopback(1), "alice", "guess-"+strconv.Itoa(i)))
		}
		if len(codes) != pairBurst+1 || codes[0] != subgate.ReasonAuth || codes[len(codes)-1] != "auth_rate_limited" {
			t.Fatalf("wrong passwords after a success: %v", codes)
		}
		if code := codeFrom(t, e, loopback(1), "alice", testPassword); code != "auth_rate_limited" {
			t.Fatalf("right password from the limited address: %q, want it refused unchecked", code)
		}
		if code := codeFrom(t, e, loopback(2), "alice", testPassword); code != "" {
			t.Fatalf("alice from another address: %s", code)
		}
	})
	t.Run("socks5", func(t *testing.T) {
		e := newEnv(t, func(c *gateway.Config) { c.SOCKSAddr = "127.0.0.1:0" })
		e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
		if !socksLogin(t, e, loopback(1), "alice", testPassword) {
			t.Fatal("alice refused")
		}
		limited := func() float64 {
			return metric(t, e, "subgate_gateway_connections_refused_total", "reason", "auth_rate_limited")
		}
		// A SOCKS5 client sees the refusal before the gateway counts it:
		// wait for the count before reading which kind it was.
		counted := func(n float64) {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); metric(t, e, "subgate_gateway_connections_refused_total", "", "") < n; {
				if time.Now().After(deadline) {
					t.Fatalf("the gateway never counted refusal %v", n)
				}
				time.Sleep(time.Millisecond)
			}
		}
		tries := 0
		for ; tries < 100 && limited() == 0; tries++ {
			if socksLogin(t, e, loopback(1), "alice", "guess-"+strconv.Itoa(tries)) {
				t.Fatal("a wrong password was accepted")
			}
			counted(float64(tries + 1))
		}
		if tries != pairBurst+1 {
			t.Fatalf("first refused unchecked after %d wrong passwords, want %d", tries, pairBurst+1)
		}
		accepted := socksLogin(t, e, loopback(1), "alice", testPassword)
		counted(float64(tries + 1))
		if accepted || limited() != 2 {
			t.Fatalf("right password from the limited address was checked (%v refused unchecked)", limited())
		}
		if !socksLogin(t, e, loopback(2), "alice", testPassword) {
			t.Fatal("alice refused from another address")
		}
	})
}

// Wrong passwords for one username from many addresses are bounded
// together. Addresses the username logged in from before keep being
// checked; a new address is refused until the bucket refills.
func TestWrongPasswordsFromManyAddressesAreBoundedPerUsername(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	if code := codeFrom(t, e, loopback(1), "alice", testPassword); code != "" {
		t.Fatalf("alice refused: %s", code)
	}
	start := time.Now()
	checked := 0
	for n := 2; n < 32; n++ {
		for i := 0; i < pairBurst; i++ {
			switch code := codeFrom(t, e, loopback(n), "alice", "guess"); code {
			case subgate.ReasonAuth:
				checked++
			case "auth_rate_limited":
			default:
				t.Fatalf("a guess from 127.0.0.%d: %q", n, code)
			}
		}
	}
	// The bucket refills during the run; without the bound 300 are checked.
	if most := accountBurst + int(time.Since(start)/accountEvery) + 1; checked > most {
		t.Fatalf("%d guesses checked across addresses, at most %d allowed", checked, most)
	}
	if checked < accountBurst {
		t.Fatalf("only %d guesses checked before the username was limited", checked)
	}
	// Spend what refilled meanwhile, then try the right password from a
	// new address and from the one alice used before.
	for n := 40; n < 100 && codeFrom(t, e, loopback(n), "alice", "guess") != "auth_rate_limited"; n++ {
	}
	if code := codeFrom(t, e, loopback(200), "alice", testPassword); code != "auth_rate_limited" {
		t.Fatalf("right password from a new address while the username is limited: %q", code)
	}
	if code := codeFrom(t, e, loopback(1), "alice", testPassword); code != "" {
		t.Fatalf("alice from her own address while her username is limited: %s", code)
	}
}

// changeReads counts the credential reads the gateway makes from the real
// store.
type changeReads struct {
	subgate.Store
	n atomic.Int64
}

func (s *changeReads) SubUsersChanged(ctx context.Context, after int64, limit int) ([]*subgate.SubUser, error) {
	s.n.Add(1)
	return s.Store.SubUsersChanged(ctx, after, limit)
}

// Failed logins are answered from memory: neither wrong passwords nor an
// unknown username read the store each time. A sub-user created a moment
// ago still authenticates at once.
func TestFailedLoginsDoNotReadTheStore(t *testing.T) {
	var reads *changeReads
	e := newEnv(t, func(c *gateway.Config) {
		reads = &changeReads{Store: c.Store}
		c.Store, c.PollInterval = reads, time.Hour
	})
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	if code := codeFrom(t, e, loopback(1), "alice", testPassword); code != "" {
		t.Fatalf("alice refused: %s", code)
	}
	before := reads.n.Load()
	for i := 0; i < pairBurst; i++ {
		if code := codeFrom(t, e, loopback(1), "alice", "guess-"+strconv.Itoa(i)); code != subgate.ReasonAuth {
			t.Fatalf("wrong password %d: %q", i, code)
		}
		if code := codeFrom(t, e, loopback(2), "nobody", "guess-"+strconv.Itoa(i)); code != subgate.ReasonAuth {
			t.Fatalf("unknown username %d: %q", i, code)
		}
	}
	if n := reads.n.Load() - before; n > 2 {
		t.Fatalf("%d failed logins read the store %d times, want at most once per username", 2*pairBurst, n)
	}
	e.createUser("carol", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	if code := codeFrom(t, e, loopback(3), "carol", testPassword); code != "" {
		t.Fatalf("carol, created a moment ago: %s", code)
	}
}
