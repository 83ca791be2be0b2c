package gateway_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// disablingDialer disables the sub-user during the first dial after arm is
// set and dials only once the gateway's enforcement has seen it: the change
// arrives after the connection was admitted, before it was answered.
type disablingDialer struct {
	subgate.DirectDialer
	e    *env
	once sync.Once
	arm  atomic.Bool
}

func (d *disablingDialer) Dial(ctx context.Context, r subgate.DialRequest) (net.Conn, error) {
	if d.arm.Load() {
		d.once.Do(func() {
			if _, err := d.e.svc.SetStatus(context.Background(), admin, strconv.FormatInt(r.SubUser.ID, 10), subgate.StatusDisabled); err != nil {
				d.e.t.Error(err)
				return
			}
			waitFor(d.e.t.(*testing.T), patience, "the gateway to see the disable", func() bool {
				st, ok := d.e.gw.AccountStatus(r.SubUser.ID)
				return ok && st == subgate.StatusDisabled
			})
		})
	}
	return d.DirectDialer.Dial(ctx, r)
}

// A connection admitted just before its sub-user is disabled, and cut by
// the change while it dials, is answered 403 with the reason, not closed
// without an answer.
func TestConnectionCutBeforeItsAnswerIsRefused(t *testing.T) {
	d := &disablingDialer{}
	e := newEnv(t, func(c *gateway.Config) { c.Dialer = d })
	d.e = e
	e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	target := echoOrigin(t)
	d.arm.Store(true)
	c, bad := e.connect("alice", testPassword, target)
	if bad == nil {
		c.Close()
		t.Fatal("connection established while its sub-user was disabled during admission")
	}
	if bad.StatusCode != 403 || bad.Header.Get("X-Subgate-Error") != subgate.ReasonDisabled {
		t.Fatalf("refused with %d %q, want 403 %q", bad.StatusCode, bad.Header.Get("X-Subgate-Error"), subgate.ReasonDisabled)
	}
}
