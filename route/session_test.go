package route

import (
	"strconv"
	"testing"
	"time"
)

func TestSessionsExpire(t *testing.T) {
	s := newSessions(100)
	now := time.Unix(1000, 0)
	k := sessionKey{subUserID: 1, product: "res", session: "a"}
	s.bind(k, "up1", time.Minute, now)
	if got := s.lookup(k, now.Add(59*time.Second)); got != "up1" {
		t.Fatalf("lookup within ttl = %q", got)
	}
	// A rebind after a failover keeps the original expiry.
	s.bind(k, "up2", time.Minute, now.Add(30*time.Second))
	if got := s.lookup(k, now.Add(59*time.Second)); got != "up2" {
		t.Fatalf("lookup after rebind = %q", got)
	}
	if got := s.lookup(k, now.Add(time.Minute)); got != "" {
		t.Fatalf("lookup at expiry = %q", got)
	}
	if s.len() != 0 {
		t.Errorf("expired entry kept: %d", s.len())
	}
	other := sessionKey{subUserID: 2, product: "res", session: "a"}
	s.bind(k, "up1", time.Minute, now)
	if got := s.lookup(other, now); got != "" {
		t.Errorf("another sub-user's session string found %q", got)
	}
}

func TestSessionsStayBounded(t *testing.T) {
	const limit = 1000
	s := newSessions(limit)
	now := time.Unix(1000, 0)
	for i := range 5 * limit {
		k := sessionKey{subUserID: int64(i), product: "res", session: "s"}
		s.bind(k, "x", time.Hour+time.Duration(i)*time.Second, now)
		if s.len() > limit {
			t.Fatalf("table grew to %d past its bound %d", s.len(), limit)
		}
	}
	// Eviction prefers sessions closer to expiry: of the last 1000 added
	// (the longest-lived), most survive.
	kept := 0
	for i := 4 * limit; i < 5*limit; i++ {
		if s.lookup(sessionKey{subUserID: int64(i), product: "res", session: "s"}, now) != "" {
			kept++
		}
	}
	if kept < s.len()/2 {
		t.Errorf("only %d of the %d surviving sessions are among the newest %d", kept, s.len(), limit)
	}
	// Expired sessions are swept even below the bound.
	later := now.Add(3 * time.Hour)
	s.bind(sessionKey{subUserID: -1, session: strconv.Itoa(1)}, "y", time.Minute, later)
	if s.len() != 1 {
		t.Errorf("after every other session expired the table holds %d", s.len())
	}
}
