package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/api"
)

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	e.call("GET", "/healthz", "", nil).expect(t, http.StatusOK)
	if r := e.call("GET", "/readyz", "", nil).expect(t, http.StatusOK); string(r.Body) != "{\"status\":\"ok\"}\n" {
		t.Fatalf("/readyz: %s", r.Body)
	}
	e.store.Close() // the database is gone
	r := e.call("GET", "/readyz", "", nil).expect(t, http.StatusServiceUnavailable)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("/readyz without Retry-After")
	}
	e.call("GET", "/healthz", "", nil).expect(t, http.StatusOK)
}

// hungStore is the real store except that reading a sub-user waits until
// the caller's deadline, as against a database that stopped answering.
type hungStore struct{ subgate.Store }

func (s hungStore) SubUser(ctx context.Context, scope subgate.Scope, ref string) (*subgate.SubUser, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestStoreDeadlineAnswers503WithRetryAfter(t *testing.T) {
	e := newEnv(t)
	_, token := e.reseller("acme", 10*subgate.BytesPerGB)
	u := e.createSubUser(token, "alice", subgate.BytesPerGB)
	hung := api.NewServer(subgate.NewService(hungStore{e.store}), nil)
	e.srv = httptest.NewServer(api.StoreDeadline(hung.Handler(), 200*time.Millisecond))
	t.Cleanup(e.srv.Close)
	for _, r := range []reply{
		e.call("GET", "/v1/subusers/"+itoa(u.ID), token, nil),
		e.call("POST", "/v1/subusers/"+itoa(u.ID)+"/give", token, map[string]any{"product": "res", "bytes": 1000}, "Idempotency-Key", "k1"),
	} {
		r.expectErr(t, http.StatusServiceUnavailable, subgate.EUNAVAILABLE, "")
		if got := r.Header.Get("Retry-After"); got != "1" {
			t.Fatalf("Retry-After %q, want 1", got)
		}
	}
	// The give was not applied, and its key is free for a retry.
	e.srv = httptest.NewServer(api.NewServer(e.svc, nil).Handler())
	t.Cleanup(e.srv.Close)
	e.call("POST", "/v1/subusers/"+itoa(u.ID)+"/give", token, map[string]any{"product": "res", "bytes": 1000}, "Idempotency-Key", "k1").expect(t, http.StatusOK)
}
