package route

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/subgate/subgate"
)

// sessionKey identifies a sticky session. The sub-user id is part of it, so
// two sub-users sending the same session string never share an egress.
type sessionKey struct {
	subUserID int64
	product   subgate.Product
	session   string
}

type sessionEntry struct {
	egress  string // key of the member the session is bound to
	expires time.Time
}

// sessions remembers which egress each sticky session uses until its ttl
// ends. Memory is bounded: expired entries are swept periodically and, when
// the table is full, the entries closest to expiry are dropped first.
type sessions struct {
	mu        sync.Mutex
	entries   map[sessionKey]sessionEntry
	max       int
	nextSweep time.Time
}

const sweepEvery = time.Minute

func newSessions(max int) *sessions {
	return &sessions{entries: map[sessionKey]sessionEntry{}, max: max}
}

// lookup returns the egress bound to k, or "" when none is bound or it expired.
func (s *sessions) lookup(k sessionKey, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[k]
	if !ok {
		return ""
	}
	if !now.Before(e.expires) {
		delete(s.entries, k)
		return ""
	}
	return e.egress
}

// bind binds k to egress for ttl from now. Rebinding a live session (after
// its egress failed) keeps its original expiry: a session lasts ttl from
// its first use, wherever it egresses.
func (s *sessions) bind(k sessionKey, egress string, ttl time.Duration, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[k]; ok && now.Before(e.expires) {
		e.egress = egress
		s.entries[k] = e
		return
	}
	s.sweep(now)
	s.entries[k] = sessionEntry{egress: egress, expires: now.Add(ttl)}
}

// sweep drops expired entries once in a while, and makes room when full.
func (s *sessions) sweep(now time.Time) {
	if len(s.entries) < s.max && now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(sweepEvery)
	for k, e := range s.entries {
		if !now.Before(e.expires) {
			delete(s.entries, k)
		}
	}
	if len(s.entries) < s.max {
		return
	}
	// Still full of live sessions: drop about a tenth, soonest to expire first.
	s.evict(max(len(s.entries)-s.max*9/10, 1))
}

// evict drops n entries, each the soonest to expire of a few sampled at
// random (map order is random), so a full table costs O(n) without a sort
// and mostly loses sessions that were about to end anyway.
func (s *sessions) evict(n int) {
	const sample = 5
	for ; n > 0 && len(s.entries) > 0; n-- {
		var victim sessionKey
		var soonest time.Time
		seen := 0
		for k, e := range s.entries {
			if seen == 0 || e.expires.Before(soonest) {
				victim, soonest = k, e.expires
			}
			if seen++; seen == sample {
				break
			}
		}
		delete(s.entries, victim)
	}
}

func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// derivedSession is the upstream-side name of a sub-user's sticky session.
// It is a function of the sub-user id and the client's session string only, so
// it is stable across restarts and nodes, and differs between sub-users that
// send the same string.
type derivedSession struct {
	Alnum string // 8 alphanumerics (IPRoyal's format)
	Num   string // decimal: sub-user id followed by 6 digits of the hash
	Hex   string // 16 hex digits
}

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func deriveSession(subUserID int64, session string) derivedSession {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(subUserID))
	h := sha256.New()
	h.Write(buf[:])
	h.Write([]byte(session))
	sum := h.Sum(nil)
	a := make([]byte, 8)
	for i := range a {
		a[i] = alnum[int(sum[i])%len(alnum)]
	}
	low := binary.BigEndian.Uint64(sum[8:16]) % 1_000_000
	// The id prefix makes numeric sessions of different sub-users distinct
	// by construction, not just by hash.
	num := strconv.FormatInt(subUserID, 10) + leftPad(strconv.FormatUint(low, 10), 6)
	return derivedSession{Alnum: string(a), Num: num, Hex: hex.EncodeToString(sum[16:24])}
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func (s *sessions) setMax(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.max = n
}
