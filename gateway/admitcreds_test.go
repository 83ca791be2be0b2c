package gateway_test

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// repasswordingStore changes the sub-user's password during the first slot
// request after arm is set and returns only once the gateway's enforcement
// holds the change: it arrives while the admission waits on the store.
type repasswordingStore struct {
	subgate.Store
	e    *env
	once sync.Once
	ran  atomic.Bool
	arm  atomic.Bool
}

func (s *repasswordingStore) AcquireSlots(ctx context.Context, r subgate.SlotRequest) (int64, error) {
	if s.arm.Load() {
		s.once.Do(func() {
			s.ran.Store(true)
			u, err := s.e.svc.SetPassword(context.Background(), admin, strconv.FormatInt(r.SubUserID, 10), "pw-changed2")
			if err != nil {
				s.e.t.Error(err)
				return
			}
			waitFor(s.e.t, patience, "the gateway to see the new password", func() bool {
				seq, ok := s.e.gw.AccountSeq(r.SubUserID)
				return ok && seq >= u.Seq
			})
		})
	}
	return s.Store.AcquireSlots(ctx, r)
}

// A connection that proved a password which changes while its admission
// waits on the store is refused: the cut of live sessions cannot reach it
// yet, and nothing later would.
func TestAdmissionRefusesCredentialsChangedWhileItWaitsOnTheStore(t *testing.T) {
	st := &repasswordingStore{}
	e := newEnv(t, func(c *gateway.Config) {
		st.Store = c.Store
		c.Store = st
	})
	st.e = e
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, func(c *subgate.SubUserCreate) { c.Limits.MaxConcurrency = 2 })
	target := echoOrigin(t)
	if _, code := tryTunnel(t, e.gw.ProxyAddr().String(), "alice", target); code != "" {
		t.Fatalf("first connection: %s", code)
	}
	st.arm.Store(true)
	c, code := tryTunnel(t, e.gw.ProxyAddr().String(), "alice", target)
	if !st.ran.Load() {
		t.Fatal("the admission never asked the store for a slot")
	}
	if c != nil || code != subgate.ReasonAuth {
		t.Fatalf("connection with the old password admitted or refused with %q", code)
	}
}

// A SOCKS5 client proves its password, then sends its request; a password
// change the gateway learns in between refuses the request: the cut of
// live sessions ran before the connection had one, and nothing later would
// cut it.
func TestSOCKS5RequestAfterAPasswordChangeIsRefused(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	proxyAddr := e.gw.ProxyAddr().String()
	c, err := net.DialTimeout("tcp", proxyAddr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * patience))
	// Greeting (username/password only), then the credentials.
	if _, err := c.Write(socksHello("alice", testPassword)); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 4)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	if reply[0] != 5 || reply[1] != 2 || reply[3] != 0 {
		t.Fatalf("greeting and authentication answered % x", reply)
	}

	if _, err := e.svc.SetPassword(context.Background(), admin, strconv.FormatInt(u.ID, 10), "pw-changed2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, patience, "the gateway to refuse the old password", func() bool {
		return connectCode(proxyAddr, "alice", e.origin.addr) == subgate.ReasonAuth
	})

	if _, err := c.Write(socksConnect(t, e.origin.addr)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, reply[:2]); err != nil {
		t.Fatal(err)
	}
	if reply[1] == 0 {
		t.Fatal("a request authenticated with the old password was let through")
	}
}
