package gateway_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// bulkDisable disables the named sub-users in one bulk update.
func bulkDisable(t *testing.T, svc *subgate.Service, us []*subgate.SubUser) {
	t.Helper()
	disabled := subgate.StatusDisabled
	b := subgate.SubUserBulkUpdate{Update: subgate.SubUserUpdate{Status: &disabled}}
	for _, u := range us {
		b.Refs = append(b.Refs, u.Hash)
	}
	if _, err := svc.UpdateSubUsers(context.Background(), admin, b); err != nil {
		t.Fatal(err)
	}
}

// A bulk disable cuts the live tunnels of every sub-user it names, and of
// no other, and refuses their new connections as disabled.
func TestBulkDisableCutsLiveTunnels(t *testing.T) {
	e := newEnv(t)
	target := echoOrigin(t)
	proxy := e.gw.ProxyAddr().String()
	var named []*subgate.SubUser
	var tunnels []net.Conn
	for i := range 3 {
		name := fmt.Sprintf("bulk_%d", i)
		named = append(named, e.createUser(name, map[subgate.Product]int64{subgate.ProductAny: gb}, nil))
		tunnels = append(tunnels, openTunnel(t, proxy, name, target))
	}
	e.createUser("bystander", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	other := openTunnel(t, proxy, "bystander", target)

	bulkDisable(t, e.svc, named)
	for i, c := range tunnels {
		waitCut(t, c, fmt.Sprintf("bulk_%d", i))
	}
	echoes(t, other) // the sub-user the bulk update did not name
	for i := range named {
		_, bad := e.connect(fmt.Sprintf("bulk_%d", i), testPassword, target)
		if bad == nil || bad.Header.Get("X-Subgate-Error") != subgate.ReasonDisabled {
			t.Fatalf("new connection of bulk_%d after the bulk disable: %+v", i, bad)
		}
	}
}

// On PostgreSQL a bulk disable made through one node reaches another node
// through the change feed like any change: it cuts the tunnels there too.
func TestBulkDisableCutsTunnelsOnEveryNode(t *testing.T) {
	schemaURL, _ := pgSchema(t)
	stA, stB := openPG(t, schemaURL, "node-a"), openPG(t, schemaURL, "node-b")
	s := sharedStore(t, stA)
	nodeA := s.node(s.withService, func(c *gateway.Config) { c.Changes = stA })
	nodeB := startNode(t, func(c *gateway.Config) { c.Store, c.Changes = stB, stB })
	target := echoOrigin(t)
	var named []*subgate.SubUser
	var onA, onB []net.Conn
	for i := range 3 {
		name := fmt.Sprintf("bulk_%d", i)
		named = append(named, s.createUser(name, map[subgate.Product]int64{subgate.ProductAny: gb}, nil))
		onA = append(onA, openTunnel(t, nodeA.ProxyAddr().String(), name, target))
		onB = append(onB, openTunnel(t, nodeB.ProxyAddr().String(), name, target))
	}
	s.createUser("bystander", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	otherB := openTunnel(t, nodeB.ProxyAddr().String(), "bystander", target)

	bulkDisable(t, s.svc, named)
	for i := range named {
		waitCut(t, onA[i], fmt.Sprintf("node A, bulk_%d", i))
		waitCut(t, onB[i], fmt.Sprintf("node B, bulk_%d", i))
	}
	echoes(t, otherB) // the sub-user the bulk update did not name
}
