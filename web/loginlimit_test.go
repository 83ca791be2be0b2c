package web_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/subgate/subgate/internal/loginlimit"
)

// browserFrom is a browser whose connections come from the loopback
// address 127.0.0.n (Linux routes all of 127/8 to the loopback interface).
func (e *env) browserFrom(n int) *browser {
	b := e.browser()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}, Timeout: 5 * time.Second}
	b.client.Transport = &http.Transport{DialContext: d.DialContext}
	return b
}

// A sign-in that succeeded buys its address no exemption for wrong
// passwords; wrong passwords or tokens from many addresses are bounded per
// account; while the account is limited, an address it signed in from
// before is still checked and a new one is refused unchecked.
func TestSignInIsLimitedPerAccountWhateverSucceeded(t *testing.T) {
	e := newEnv(t)
	e.reseller("Acme", "ops@acme.test", "right-password", 0)
	cases := []struct {
		name  string
		login func(b *browser, right bool) int
	}{
		{"reseller", func(b *browser, right bool) int {
			if right {
				return b.tryLogin("OPS@acme.test", "right-password").status
			}
			return b.tryLogin("ops@acme.test", "wrong-password").status
		}},
		{"admin", func(b *browser, right bool) int {
			if right {
				return b.loginAdmin(adminToken).status
			}
			return b.loginAdmin("not-the-admin-token-at-all").status
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Each case has addresses of its own: 127.0.0.(100i + n).
			from := func(n int) *browser { return e.browserFrom(100*i + n) }
			for _, n := range []int{1, 9} {
				if got := tc.login(from(n), true); got != http.StatusSeeOther {
					t.Fatalf("sign-in from address %d: %d", n, got)
				}
			}
			start := time.Now()
			checked, status := 0, 0
			for ; checked <= loginlimit.PairBurst; checked++ {
				if status = tc.login(from(1), false); status != http.StatusUnauthorized {
					break
				}
			}
			if checked != loginlimit.PairBurst || status != http.StatusTooManyRequests {
				t.Fatalf("after a success: %d wrong sign-ins checked, then %d; want %d, then 429", checked, status, loginlimit.PairBurst)
			}
			if got := tc.login(from(1), true); got != http.StatusTooManyRequests {
				t.Fatalf("right sign-in from the limited address: %d, want 429 unchecked", got)
			}
			for n := 10; n < 10+2*loginlimit.AccountBurst/loginlimit.PairBurst; n++ {
				b := from(n)
				for range loginlimit.PairBurst {
					if tc.login(b, false) == http.StatusUnauthorized {
						checked++
					}
				}
			}
			if most := loginlimit.AccountBurst + int(time.Since(start)/loginlimit.AccountRefill) + 1; checked > most || checked < loginlimit.AccountBurst {
				t.Fatalf("%d wrong sign-ins checked across addresses, want %d to %d", checked, loginlimit.AccountBurst, most)
			}
			if got := tc.login(from(99), true); got != http.StatusTooManyRequests {
				t.Fatalf("right sign-in from a new address while the account is limited: %d", got)
			}
			if got := tc.login(from(9), true); got != http.StatusSeeOther {
				t.Fatalf("right sign-in from an address that signed in before: %d", got)
			}
		})
	}
}
