package subgate

import (
	"sync/atomic"
	"testing"
)

// CountPasswordChecks counts bcrypt comparisons until the test ends.
func CountPasswordChecks(t *testing.T) *atomic.Int64 {
	var n atomic.Int64
	prev := checkPassword
	checkPassword = func(hash, pw string) bool {
		n.Add(1)
		return prev(hash, pw)
	}
	t.Cleanup(func() { checkPassword = prev })
	return &n
}

// UseCheapPasswordHashes makes Login's dummy comparison cheap until the test
// ends (bcrypt at full cost is slow under the race detector).
func UseCheapPasswordHashes(t *testing.T, dummyHash string) {
	prev := dummyPasswordHash
	dummyPasswordHash = func() string { return dummyHash }
	t.Cleanup(func() { dummyPasswordHash = prev })
}
