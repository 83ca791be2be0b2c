package gateway

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
)

// heldRead is a real store whose reads by username pause after reading,
// so a test can commit and apply changes while a load is in flight.
type heldRead struct {
	subgate.Store
	read    chan struct{} // a read by username has read
	release chan struct{} // let it answer
}

func (s *heldRead) SubUserByUsername(ctx context.Context, name string) (*subgate.SubUser, error) {
	u, err := s.Store.SubUserByUsername(ctx, name)
	s.read <- struct{}{}
	<-s.release
	return u, err
}

func newHeldReadCache(t *testing.T) (*credCache, *heldRead, *subgate.Service, *subgate.Reseller) {
	t.Helper()
	cipher, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "subgate.db"), cipher)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := subgate.NewService(st)
	admin := subgate.Principal{Admin: true}
	r, err := svc.CreateReseller(context.Background(), admin, subgate.ResellerCreate{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	held := &heldRead{Store: st, read: make(chan struct{}), release: make(chan struct{})}
	c := newCredCache(held, func(old, cur *subgate.SubUser) {})
	if err := c.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, held, svc, r
}

// loadDuring loads name while change commits and is applied between the
// store's read and its answer, and returns what the load gives.
func loadDuring(t *testing.T, c *credCache, held *heldRead, name string, change func()) *subgate.SubUser {
	t.Helper()
	got := make(chan *subgate.SubUser, 1)
	go func() {
		u, _, err := c.byUsername(name)
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	<-held.read
	change()
	if err := c.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(held.release)
	return <-got
}

// A change applied while a sub-user was loading wins over the older row
// the store answered with.
func TestLoadKeepsAChangeAppliedMeanwhile(t *testing.T) {
	c, held, svc, r := newHeldReadCache(t)
	admin := subgate.Principal{Admin: true}
	bob, err := svc.CreateSubUser(context.Background(), admin, r.ID, subgate.SubUserCreate{Username: "bob", Password: "pw-secret1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	disabled := subgate.StatusDisabled
	u := loadDuring(t, c, held, "bob", func() {
		if _, err := svc.SetStatus(context.Background(), admin, bob.Hash, disabled); err != nil {
			t.Fatal(err)
		}
	})
	if u == nil || u.Status != disabled {
		t.Fatalf("loaded %+v, want bob disabled", u)
	}
	if h := c.get(bob.ID); h == nil || h.Status != disabled {
		t.Fatalf("held %+v, want bob disabled", h)
	}
}

// A username created while its load was answering "unknown" is not
// remembered as unknown.
func TestLoadKeepsACreateAppliedMeanwhile(t *testing.T) {
	c, held, svc, r := newHeldReadCache(t)
	admin := subgate.Principal{Admin: true}
	u := loadDuring(t, c, held, "carol", func() {
		if _, err := svc.CreateSubUser(context.Background(), admin, r.ID, subgate.SubUserCreate{Username: "carol", Password: "pw-secret1"}, ""); err != nil {
			t.Fatal(err)
		}
	})
	if u == nil || u.Username != "carol" {
		t.Fatalf("loaded %+v, want carol", u)
	}
	if _, absent := c.absent["carol"]; absent {
		t.Fatal("carol remembered as unknown")
	}
}
