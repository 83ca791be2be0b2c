package route

import (
	"context"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/subgate/subgate"
)

func TestReloadSwapsTheConfigAtomically(t *testing.T) {
	o := startOrigin(t)
	reg := prometheus.NewRegistry()
	cfgA := Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"dc": {Kind: KindDirect, SourceAddrs: []string{"127.0.0.2"}}}}
	cfgB := Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{
		"dc":  {Kind: KindDirect, SourceAddrs: []string{"127.0.0.3"}},
		"res": {Kind: KindDirect, SourceAddrs: []string{"127.0.0.4"}},
	}}
	r := newRouter(t, cfgA, Options{Registerer: reg})

	// Dials racing with reloads each see one whole configuration.
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 4 {
		wg.Go(func() {
			for range 10 {
				c, err := r.Dial(context.Background(), subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "dc"}, Address: o.addr()})
				if err != nil {
					errs <- err.Error()
					continue
				}
				if ip, err := readGreeting(c); err != nil {
					errs <- err.Error()
				} else if ip != "127.0.0.2" && ip != "127.0.0.3" {
					errs <- "egressed from " + ip
				}
				c.Close()
			}
		})
	}
	for i := range 20 {
		cfg := cfgA
		if i%2 == 0 {
			cfg = cfgB
		}
		if err := r.Reload(cfg); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	if err := r.Reload(cfgB); err != nil {
		t.Fatal(err)
	}
	if ip := dialGreet(t, r, subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "res"}, Address: o.addr()}); ip != "127.0.0.4" {
		t.Errorf("new route egressed from %s", ip)
	}
	// An invalid configuration is refused and the one in force stays.
	bad := Config{Routes: map[subgate.Product]Route{"dc": {Kind: "tunnel"}}}
	if err := r.Reload(bad); subgate.ErrorField(err) != "routes.dc.kind" {
		t.Fatalf("reload of a bad config: %v", err)
	}
	if ip := dialGreet(t, r, subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Product: "dc"}, Address: o.addr()}); ip != "127.0.0.3" {
		t.Errorf("after a refused reload dc egressed from %s", ip)
	}
	// Egresses that left the configuration leave the metrics.
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "subgate_route_egress_up" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "egress" && l.GetValue() == "127.0.0.2" {
					t.Error("removed source address still reported")
				}
			}
		}
	}
	if v := metricValue(t, reg, "subgate_route_dials_total", map[string]string{"product": "dc", "result": "ok"}); v < 41 {
		t.Errorf("dials_total{dc,ok} = %v", v)
	}
}
