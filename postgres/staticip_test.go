package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/subgate/subgate"

	"github.com/subgate/subgate/route/routetest"
)

func TestStaticIPs(t *testing.T) {
	routetest.RunStaticIPs(t, func(t *testing.T) routetest.Store { return openStore(t) })
}

// A static proxy's password is sealed in its column; the rest stays readable.
func TestStaticProxyPasswordSealedAtRest(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	ctx := context.Background()
	const password = "Very-Distinct-Static-Pw-7"
	up := "socks5://static-proxy.example:1080:user1:" + password
	ip := &subgate.StaticIP{Upstream: up, Country: "us"}
	if err := st.AddStaticIPs(ctx, []*subgate.StaticIP{ip}); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := db.admin.QueryRow(ctx, `SELECT upstream FROM `+db.schema+`.static_ips WHERE id = $1`, ip.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, "static-proxy.example:1080:user1:") || strings.Contains(stored, password) {
		t.Fatalf("upstream column holds %q", stored)
	}
	got, err := st.StaticIPs(ctx, subgate.StaticIPFilter{})
	if err != nil || len(got) != 1 || got[0].Upstream != up {
		t.Fatalf("read back %v, %v", got, err)
	}
}
