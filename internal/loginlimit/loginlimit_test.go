package loginlimit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func requestFrom(remote string) *http.Request {
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = remote
	return r
}

func TestCountsOnlyFailures(t *testing.T) {
	l := New()
	r := requestFrom("127.0.0.1:40000")
	for i := 0; i < 3*Burst; i++ {
		done, ok := l.Attempt(r)
		if !ok {
			t.Fatalf("success %d was limited", i)
		}
		done(false)
	}
	for i := 0; i < Burst; i++ {
		done, ok := l.Attempt(r)
		if !ok {
			t.Fatalf("failure %d of %d was limited", i, Burst)
		}
		done(true)
	}
	if _, ok := l.Attempt(r); ok {
		t.Fatal("failure beyond the burst was allowed")
	}
	if _, ok := l.Attempt(requestFrom("127.0.0.1:40001")); ok {
		t.Fatal("another port of the same address was allowed")
	}
	if done, ok := l.Attempt(requestFrom("127.0.0.2:40000")); !ok {
		t.Fatal("another address was limited")
	} else {
		done(true)
	}
}

func TestGroupsIPv6Per64(t *testing.T) {
	l := New()
	for i := 0; i < Burst; i++ {
		done, ok := l.Attempt(requestFrom("[2001:db8::" + strconv.Itoa(1+i) + "]:1"))
		if !ok {
			t.Fatalf("failure %d limited", i)
		}
		done(true)
	}
	if _, ok := l.Attempt(requestFrom("[2001:db8::ffff]:1")); ok {
		t.Fatal("a new address in the same /64 escaped the limit")
	}
	if _, ok := l.Attempt(requestFrom("[2001:db8:0:1::1]:1")); !ok {
		t.Fatal("another /64 was limited")
	}
}

func TestIsBounded(t *testing.T) {
	l := newBounded(4)
	for i := 0; i < 50; i++ {
		done, ok := l.Attempt(requestFrom("127.0.1." + strconv.Itoa(i) + ":1"))
		if !ok {
			t.Fatalf("source %d limited", i)
		}
		done(true)
		if n := len(l.sources); n > l.max {
			t.Fatalf("%d sources kept, limit %d", n, l.max)
		}
	}
}

// Holding a /48 (65536 /64s) is common; it earns more failures than one
// /64, but a bounded number.
func TestGroupsIPv6Per48(t *testing.T) {
	l := New()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return at } // no refill during the test
	allowed := 0
	for net := 0; net < 1000; net++ {
		src := "[2001:db8:7:" + strconv.FormatInt(int64(net), 16) + "::1]:1"
		for i := 0; i < Burst; i++ {
			done, ok := l.Attempt(requestFrom(src))
			if !ok {
				break
			}
			allowed++
			done(true)
		}
	}
	if allowed != NetworkBurst {
		t.Fatalf("%d failures allowed across one /48, want %d", allowed, NetworkBurst)
	}
	if done, ok := l.Attempt(requestFrom("[2001:db8:8::1]:1")); !ok {
		t.Fatal("another /48 was limited")
	} else {
		done(true)
	}
	if _, ok := l.Attempt(requestFrom("[2001:db8:7:ffff::1]:1")); ok {
		t.Fatal("a fresh /64 of a limited /48 was allowed")
	}
}
