package api_test

import (
	"context"
	"sync"
	"testing"

	"github.com/subgate/subgate"
)

func TestIdempotentRetryReturnsTheFirstAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 10_000)
	u := e.createSubUser(tok, "alice", 0)
	give := "/v1/subusers/" + u.Hash + "/give"
	body := map[string]any{"product": "res", "bytes": 1500}

	first := e.call("POST", give, tok, body, "Idempotency-Key", "k-1").expect(t, 200)
	second := e.call("POST", give, tok, body, "Idempotency-Key", "k-1").expect(t, 200)
	if string(first.Body) != string(second.Body) || second.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered differently:\n%s\n%s", first.Body, second.Body)
	}
	if p := e.pools(id); p["res"] != 10_000-1500 {
		t.Fatalf("a retried give moved traffic twice: pool %v", p)
	}
	// The same key on another request is a conflict and changes nothing.
	e.call("POST", give, tok, map[string]any{"product": "res", "bytes": 99}, "Idempotency-Key", "k-1").
		expectErr(t, 409, "conflict", "")
	// Keys belong to the caller: another reseller's key space is separate.
	_, otherTok := e.reseller("other", 0)
	e.call("POST", give, otherTok, body, "Idempotency-Key", "k-1").expectErr(t, 404, "not_found", "")

	// Error answers are replayed too.
	e.call("POST", "/v1/subusers", tok, map[string]any{"username": "x"}, "Idempotency-Key", "k-2").expectErr(t, 400, "invalid", "username")
	e.call("POST", "/v1/subusers", tok, map[string]any{"username": "x"}, "Idempotency-Key", "k-2").expectErr(t, 400, "invalid", "username")

	// A create retried returns the same sub-user instead of a conflict.
	c1 := e.call("POST", "/v1/subusers", tok, map[string]any{"username": "bob", "traffic": map[string]int64{"res": 100}}, "Idempotency-Key", "k-3").expect(t, 201)
	c2 := e.call("POST", "/v1/subusers", tok, map[string]any{"username": "bob", "traffic": map[string]int64{"res": 100}}, "Idempotency-Key", "k-3").expect(t, 201)
	if string(c1.Body) != string(c2.Body) {
		t.Fatal("retried create answered differently")
	}
	// Deletes and admin writes too.
	e.call("DELETE", "/v1/subusers/"+u.Hash, tok, nil, "Idempotency-Key", "k-4").expect(t, 200)
	e.call("DELETE", "/v1/subusers/"+u.Hash, tok, nil, "Idempotency-Key", "k-4").expect(t, 200)
	credit := "/v1/resellers/" + itoa(id) + "/credit"
	e.call("POST", credit, adminToken, map[string]any{"product": "dc", "bytes": 7}, "Idempotency-Key", "k-5").expect(t, 200)
	e.call("POST", credit, adminToken, map[string]any{"product": "dc", "bytes": 7}, "Idempotency-Key", "k-5").expect(t, 200)
	if p := e.pools(id); p["dc"] != 7 {
		t.Fatalf("retried credit applied twice: %v", p)
	}
	e.checkInvariant(id)
}

func TestIdempotentRequestInProgressIsConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 10_000)
	u := e.createSubUser(tok, "alice", 0)
	give := "/v1/subusers/" + u.Hash + "/give"
	body := `{"product":"res","bytes":5}`
	// A first request that has begun but not finished, as a concurrent
	// duplicate would see it.
	fp := "POST " + give + " "
	rec := &subgate.IdempotencyRecord{Principal: "reseller:" + itoa(id), Key: "busy", Fingerprint: fp + sha256hex(body)}
	if prev, err := e.store.BeginIdempotent(context.Background(), rec); err != nil || prev != nil {
		t.Fatalf("begin: %v %v", prev, err)
	}
	e.call("POST", give, tok, body, "Idempotency-Key", "busy").expectErr(t, 409, "conflict", "")
	if p := e.pools(id); p["res"] != 10_000 {
		t.Fatalf("a conflicting duplicate moved traffic: %v", p)
	}
}

// Concurrent duplicates apply once: each gets the first answer or 409.
func TestIdempotentConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, tok := e.reseller("acme", 10_000)
	u := e.createSubUser(tok, "alice", 0)
	give := "/v1/subusers/" + u.Hash + "/give"
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.call("POST", give, tok, `{"product":"res","bytes":100}`, "Idempotency-Key", "same").Status
		}()
	}
	wg.Wait()
	for _, s := range statuses {
		if s != 200 && s != 409 {
			t.Fatalf("statuses %v", statuses)
		}
	}
	if p := e.pools(id); p["res"] != 10_000-100 {
		t.Fatalf("concurrent duplicates moved traffic %d times: %v", (10_000-p["res"])/100, p)
	}
	e.checkInvariant(id)
}
