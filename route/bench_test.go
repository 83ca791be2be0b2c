package route

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// acceptAndClose runs a listener that closes whatever it accepts.
func acceptAndClose(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkDialPlain is the baseline for BenchmarkDialDirect.
func BenchmarkDialPlain(b *testing.B) {
	addr := acceptAndClose(b)
	var d net.Dialer
	for b.Loop() {
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func BenchmarkDialDirect(b *testing.B) {
	addr := acceptAndClose(b)
	r, err := New(Config{AllowPrivateTargets: true, Routes: map[subgate.Product]Route{"res": {Kind: KindDirect, SourceAddrs: []string{"127.0.0.2", "127.0.0.3"}}}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	req := subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Session: "s"}, Address: addr, Admit: func(string) error { return nil }}
	for b.Loop() {
		c, err := r.Dial(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkRoutingDecision measures the router's own work for a sticky
// upstream connection: session lookup, ordering, credential rewriting.
func BenchmarkRoutingDecision(b *testing.B) {
	r, err := New(upstreamConfig("res",
		Upstream{Name: "a", Proxy: Proxy{Address: "127.0.0.1:1", Username: "acct", Password: "pw", Preset: PresetNetNut}},
		Upstream{Name: "b", Proxy: Proxy{Address: "127.0.0.1:2", Username: "acct", Password: "pw", Preset: PresetIPRoyal}}), Options{})
	if err != nil {
		b.Fatal(err)
	}
	t := r.table.Load()
	rt := t.routes["res"]
	req := subgate.DialRequest{SubUser: subUser(1), Target: subgate.Target{Country: "us", City: "dallas", Session: "abc"}, Address: "example.test:443"}
	c := r.newCall(t, req)
	slots, _ := rt.candidates(context.Background(), c)
	r.sessions.bind(c.skey, "b", time.Hour, c.now)
	for b.Loop() {
		c := r.newCall(t, req)
		bound := r.sessions.lookup(c.skey, c.now)
		s := rt.picker().order(slots, bound, c.now)[0]
		s.m.(*upstreamMember).hops[0].credentials(c)
	}
}

func BenchmarkSessionsBind(b *testing.B) {
	s := newSessions(DefaultMaxSessions)
	now := time.Now()
	i := 0
	for b.Loop() {
		i++
		s.bind(sessionKey{subUserID: int64(i % 200_000), session: strconv.Itoa(i)}, "x", time.Minute, now)
	}
}
