package gateway_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
	"github.com/subgate/subgate/internal/pgtest"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
)

// pgSchema makes a fresh schema of the test database (SUBGATE_TEST_POSTGRES
// overrides the URL), dropped at the end, and returns a URL confined to it
// and a connection to the database.
func pgSchema(t testing.TB) (string, *pgx.Conn) {
	t.Helper()
	d := pgtest.NewSchema(t, "gateway_test_")
	return d.URL, d.Admin
}

// openPG opens a store on the URL's schema, closed at the end, whose
// connections carry the application name app when it is not empty.
func openPG(t testing.TB, schemaURL, app string) *postgres.Store {
	t.Helper()
	u, _ := url.Parse(schemaURL)
	if app != "" {
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
	}
	c, _ := secret.New(testKey)
	st, err := postgres.Open(context.Background(), u.String(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// pgStore opens a store on a fresh schema of the test database.
func pgStore(t testing.TB) *postgres.Store {
	t.Helper()
	schemaURL, _ := pgSchema(t)
	return openPG(t, schemaURL, "")
}

// shared is a store several gateway nodes share, a service on it and a
// reseller with a credited pool.
type shared struct {
	t        testing.TB
	store    subgate.Store
	svc      *subgate.Service
	reseller *subgate.Reseller
}

// sharedPG is a shared store on a fresh PostgreSQL schema.
func sharedPG(t testing.TB) *shared {
	t.Helper()
	return sharedStore(t, pgStore(t))
}

// sharedStore puts a service and a reseller with 10 GB of any product on st.
func sharedStore(t testing.TB, st subgate.Store) *shared {
	t.Helper()
	s := &shared{t: t, store: st, svc: subgate.NewService(st)}
	r, err := s.svc.CreateReseller(context.Background(), admin, subgate.ResellerCreate{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.CreditPool(context.Background(), admin, r.ID, subgate.ProductAny, 10*gb, ""); err != nil {
		t.Fatal(err)
	}
	s.reseller = r
	return s
}

// createUser creates a sub-user of the reseller with the test password.
func (s *shared) createUser(name string, traffic map[subgate.Product]int64, mod func(*subgate.SubUserCreate)) *subgate.SubUser {
	s.t.Helper()
	c := subgate.SubUserCreate{Username: name, Password: testPassword, Traffic: traffic}
	if mod != nil {
		mod(&c)
	}
	u, err := s.svc.CreateSubUser(context.Background(), admin, s.reseller.ID, c, "")
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// node starts a gateway node on the shared store, without the service
// unless an option gives it one.
func (s *shared) node(opts ...envOption) *gateway.Gateway {
	s.t.Helper()
	onStore := func(c *gateway.Config) { c.Store = s.store }
	return startNode(s.t, append([]envOption{onStore}, opts...)...)
}

// nodeAddrs starts n nodes on the shared store with the same options and
// returns their proxy addresses.
func (s *shared) nodeAddrs(n int, opts ...envOption) []string {
	s.t.Helper()
	var addrs []string
	for range n {
		addrs = append(addrs, s.node(opts...).ProxyAddr().String())
	}
	return addrs
}

// withService gives a node the shared service, as the node an operator
// talks to has.
func (s *shared) withService(c *gateway.Config) { c.Service = s.svc }

// startNode starts a gateway on a loopback port of its own, with the
// options applied in order, and shuts it down at the end.
func startNode(t testing.TB, opts ...envOption) *gateway.Gateway {
	t.Helper()
	cfg := gateway.Config{ProxyAddr: "127.0.0.1:0", Logger: testLogger(), AllowPrivateTargets: true}
	for _, o := range opts {
		o(&cfg)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		gw.Shutdown(ctx)
	})
	return gw
}
