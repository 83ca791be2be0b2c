package netnut_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
	"github.com/subgate/subgate/internal/loginlimit"
)

// loginFrom posts a NetNut login from the loopback address 127.0.0.n
// (Linux routes all of 127/8 to the loopback interface) and returns the
// status.
func loginFrom(t *testing.T, env *dialecttest.Env, n int, email, password string) int {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	defer c.CloseIdleConnections()
	resp, err := c.Post(env.URL(dialecttest.NetNut, "/v1/auth/login"), "application/json",
		strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// A login that succeeded buys its address no exemption for wrong
// passwords; wrong passwords from many addresses are bounded per email;
// while the email is limited, an address it logged in from before is still
// checked and a new one is refused unchecked.
func TestLoginIsLimitedPerEmailWhateverSucceeded(t *testing.T) {
	env := dialecttest.New(t)
	// A cheap hash: bcrypt at full cost is slow under the race detector.
	const email, password = "fast@example.com", "right-password"
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CreateReseller(context.Background(), &subgate.Reseller{Name: "fast", Email: email, PasswordHash: string(h)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 9} {
		if got := loginFrom(t, env, n, email, password); got != http.StatusOK {
			t.Fatalf("login from 127.0.0.%d: %d", n, got)
		}
	}
	start := time.Now()
	checked := 0
	status := 0
	for ; checked <= loginlimit.PairBurst; checked++ {
		if status = loginFrom(t, env, 1, email, "guess"); status != http.StatusUnauthorized {
			break
		}
	}
	if checked != loginlimit.PairBurst || status != http.StatusTooManyRequests {
		t.Fatalf("after a success: %d wrong passwords checked, then %d; want %d, then 429", checked, status, loginlimit.PairBurst)
	}
	if got := loginFrom(t, env, 1, email, password); got != http.StatusTooManyRequests {
		t.Fatalf("right password from the limited address: %d, want 429 unchecked", got)
	}
	for n := 10; n < 10+2*loginlimit.AccountBurst/loginlimit.PairBurst; n++ {
		for i := 0; i < loginlimit.PairBurst; i++ {
			if loginFrom(t, env, n, email, "guess") == http.StatusUnauthorized {
				checked++
			}
		}
	}
	if most := loginlimit.AccountBurst + int(time.Since(start)/loginlimit.AccountRefill) + 1; checked > most || checked < loginlimit.AccountBurst {
		t.Fatalf("%d wrong passwords checked across addresses, want %d to %d", checked, loginlimit.AccountBurst, most)
	}
	if got := loginFrom(t, env, 200, email, password); got != http.StatusTooManyRequests {
		t.Fatalf("right password from a new address while the email is limited: %d", got)
	}
	if got := loginFrom(t, env, 9, email, password); got != http.StatusOK {
		t.Fatalf("right password from an address that logged in before: %d", got)
	}
}
