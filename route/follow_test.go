package route

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
)

func openRoutesStore(t *testing.T) *sqlite.Store {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	c, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "subgate.db"), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func directFrom(src string) Config {
	return Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"dc": {Kind: KindDirect, SourceAddrs: []string{src}}}}
}

func storeConfig(t *testing.T, s subgate.RoutesStore, doc []byte) subgate.StoredRoutes {
	t.Helper()
	st, err := s.SetStoredRoutes(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func jsonOf(t *testing.T, c Config) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestFollower(t *testing.T, s subgate.RoutesStore, fallback Config, reg prometheus.Registerer) (*Follower, *Router) {
	t.Helper()
	r := newRouter(t, fallback, Options{})
	f, err := NewFollower(context.Background(), r, s, FollowOptions{Fallback: fallback, FallbackSource: subgate.RouteSourceFile, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return f, r
}

func dcFrom(t *testing.T, r *Router, o *origin) string {
	t.Helper()
	return dialGreet(t, r, subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "dc"}, Address: o.addr()})
}

// A stored configuration is in force from the start and follows changes;
// a drop goes back to the fallback.
func TestFollowerAppliesStoredThenFallsBack(t *testing.T) {
	o := startOrigin(t)
	s := openRoutesStore(t)
	storeConfig(t, s, jsonOf(t, directFrom("127.0.0.3")))
	f, r := newTestFollower(t, s, directFrom("127.0.0.2"), nil)
	if st := f.State(); st.Source != subgate.RouteSourceStored || st.Version != 1 || st.Failure != nil {
		t.Fatalf("state at start %+v", st)
	}
	if ip := dcFrom(t, r, o); ip != "127.0.0.3" {
		t.Fatalf("at start egressed from %s, want the stored 127.0.0.3", ip)
	}

	storeConfig(t, s, jsonOf(t, directFrom("127.0.0.4")))
	if err := f.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ip := dcFrom(t, r, o); ip != "127.0.0.4" {
		t.Fatalf("after a change egressed from %s, want 127.0.0.4", ip)
	}

	storeConfig(t, s, nil)
	if err := f.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := f.State(); st.Source != subgate.RouteSourceFile || st.Version != 3 {
		t.Fatalf("state after a drop %+v", st)
	}
	if ip := dcFrom(t, r, o); ip != "127.0.0.2" {
		t.Fatalf("after a drop egressed from %s, want the fallback 127.0.0.2", ip)
	}
}

// A stored configuration this node cannot use leaves the one in force and
// says why; the next good one clears the failure.
func TestFollowerRefusesWhatThisNodeCannotUse(t *testing.T) {
	o := startOrigin(t)
	s := openRoutesStore(t)
	reg := prometheus.NewRegistry()
	f, r := newTestFollower(t, s, directFrom("127.0.0.2"), reg)
	storeConfig(t, s, jsonOf(t, directFrom("127.0.0.3")))
	if err := f.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}

	for i, c := range []struct {
		doc   string
		field string
	}{
		// 192.0.2.0/24 is documentation space: no host has it.
		{`{"routes":{"dc":{"kind":"direct","source_addrs":["192.0.2.77"]}}}`, "routes.dc.source_addrs[0]"},
		{`{"routes":{"stc":{"kind":"static","static":[{"address":"192.0.2.78"}]}}}`, "routes.stc.static[0].address"},
		// A field this version does not know, as a newer node might write.
		{`{"routes":{"dc":{"kind":"direct"}},"colour":"blue"}`, "config"},
	} {
		st := storeConfig(t, s, []byte(c.doc))
		if err := f.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := f.State()
		if got.Source != subgate.RouteSourceStored || got.Version != 1 || got.Failure == nil ||
			got.Failure.Version != st.Version || !strings.Contains(got.Failure.Error, c.field) {
			t.Fatalf("case %d: state %+v (failure %+v), want version 1 in force and a failure naming %s", i, got, got.Failure, c.field)
		}
		if ip := dcFrom(t, r, o); ip != "127.0.0.3" {
			t.Fatalf("case %d: egressed from %s, want the previous 127.0.0.3", i, ip)
		}
		if v := metricValue(t, reg, "subgate_route_stored_config_refused", nil); v != 1 {
			t.Fatalf("case %d: refused metric = %v", i, v)
		}
	}

	storeConfig(t, s, jsonOf(t, directFrom("127.0.0.5")))
	if err := f.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.State(); got.Failure != nil || got.Version != 5 {
		t.Fatalf("state after a good one %+v", got)
	}
	if ip := dcFrom(t, r, o); ip != "127.0.0.5" {
		t.Fatalf("egressed from %s, want 127.0.0.5", ip)
	}
	if v := metricValue(t, reg, "subgate_route_stored_config_refused", nil); v != 0 {
		t.Fatalf("refused metric after a good one = %v", v)
	}
}

// An older version arriving late (a slow writer's own apply) changes nothing.
func TestFollowerIgnoresOlderVersions(t *testing.T) {
	o := startOrigin(t)
	s := openRoutesStore(t)
	f, r := newTestFollower(t, s, directFrom("127.0.0.2"), nil)
	old := storeConfig(t, s, jsonOf(t, directFrom("127.0.0.3")))
	storeConfig(t, s, jsonOf(t, directFrom("127.0.0.4")))
	if err := f.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Apply(old); err != nil {
		t.Fatal(err)
	}
	if ip := dcFrom(t, r, o); ip != "127.0.0.4" || f.State().Version != 2 {
		t.Fatalf("egressed from %s at version %d, want 127.0.0.4 at 2", ip, f.State().Version)
	}
}

func TestCheckNamesTheMissingAddress(t *testing.T) {
	f, _ := newTestFollower(t, openRoutesStore(t), directFrom("127.0.0.2"), nil)
	if err := f.Check(directFrom("127.0.0.9")); err != nil {
		t.Fatalf("a loopback address refused: %v", err)
	}
	err := f.Check(directFrom("192.0.2.77"))
	var e *subgate.Error
	if !errors.As(err, &e) || e.Code != subgate.EINVALID || e.Field != "routes.dc.source_addrs[0]" {
		t.Fatalf("Check = %v", err)
	}
}
