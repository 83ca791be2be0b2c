package gateway_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/gateway"
)

// heardFeed passes a feed through and reports what it delivers and how
// often it was (re)started.
type heardFeed struct {
	gateway.ChangeFeed
	heard  chan int64
	starts atomic.Int64
}

func (f *heardFeed) ListenChanges(ctx context.Context, notify func(seq int64)) error {
	f.starts.Add(1)
	return f.ChangeFeed.ListenChanges(ctx, func(seq int64) {
		select {
		case f.heard <- seq:
		default:
		}
		notify(seq)
	})
}

// echoOrigin echoes every connection until the client closes it: a tunnel
// to it ends only when the gateway cuts it.
func echoOrigin(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// openTunnel connects through proxy and checks the tunnel echoes.
func openTunnel(t *testing.T, proxy, user, target string) net.Conn {
	t.Helper()
	var c net.Conn
	waitFor(t, patience, "a tunnel through "+proxy, func() bool {
		var bad *httpResponse
		c, bad = connectVia(t, proxy, user, testPassword, target)
		return bad == nil
	})
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(patience))
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
		t.Fatalf("tunnel does not echo: %v", err)
	}
	c.SetDeadline(time.Time{})
	return c
}

// waitCut fails unless the gateway closes the tunnel within patience.
func waitCut(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the tunnel was not cut within %v", what, patience)
	}
}

// A node that never polls in this test follows another node's changes
// through the PostgreSQL change feed alone: a disable cuts its tunnel, an
// enable lets the sub-user in again, and after its listening connection is
// terminated it listens again and keeps following.
func TestChangeFeedCutsTunnelsOnAnotherNodeAndRecovers(t *testing.T) {
	schemaURL, db := pgSchema(t)
	stA := openPG(t, schemaURL, "node-a")
	rnd := make([]byte, 6)
	rand.Read(rnd)
	feedApp := "feed_" + hex.EncodeToString(rnd) // this test's feed connections only
	feed := &heardFeed{ChangeFeed: openPG(t, schemaURL, feedApp), heard: make(chan int64, 1)}
	stB := openPG(t, schemaURL, "node-b")
	s := sharedStore(t, stA)
	svc := s.svc
	ctx := context.Background()
	u := s.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
	nodeA := s.node(s.withService, func(c *gateway.Config) { c.Changes = stA })
	// Node B polls once an hour: only the feed can tell it of changes.
	nodeB := startNode(t, func(c *gateway.Config) {
		c.Store, c.Changes, c.PollInterval, c.ChangePollInterval = stB, feed, time.Hour, time.Hour
	})
	target := echoOrigin(t)

	// listening makes harmless changes until node B's feed delivers one.
	note := 0
	listening := func(what string) {
		t.Helper()
		for {
			select {
			case <-feed.heard:
			default:
			}
			note++
			n := "note " + strconv.Itoa(note)
			if _, err := svc.UpdateSubUser(ctx, admin, u.Hash, subgate.SubUserUpdate{Note: &n}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-feed.heard:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if note > int(patience/(100*time.Millisecond)) {
				t.Fatalf("%s: node B's feed delivered nothing", what)
			}
		}
	}
	setStatus := func(s subgate.Status) {
		t.Helper()
		if _, err := svc.UpdateSubUser(ctx, admin, u.Hash, subgate.SubUserUpdate{Status: &s}); err != nil {
			t.Fatal(err)
		}
	}

	listening("at start")
	onA := openTunnel(t, nodeA.ProxyAddr().String(), "alice", target)
	onB := openTunnel(t, nodeB.ProxyAddr().String(), "alice", target)
	setStatus(subgate.StatusDisabled)
	waitCut(t, onA, "node A, disabled through its own service")
	waitCut(t, onB, "node B, disabled through node A")
	setStatus(subgate.StatusActive)
	onB = openTunnel(t, nodeB.ProxyAddr().String(), "alice", target)

	// Terminate the feed's connections; node B listens again.
	var killed int
	err := db.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1) AS k`, feedApp).Scan(&killed)
	if err != nil || killed == 0 {
		t.Fatalf("terminated %d feed connections: %v", killed, err)
	}
	listening("after the feed's connection was terminated")
	if got := feed.starts.Load(); got < 2 {
		t.Fatalf("the feed was started %d times, want a restart after its connection was terminated", got)
	}
	setStatus(subgate.StatusDisabled)
	waitCut(t, onB, "node B, disabled after its feed reconnected")
}

// brokenFeed fails at once every time; silentFeed listens and never
// delivers. Both count their starts.
type brokenFeed struct{ startCount }

func (f *brokenFeed) ListenChanges(ctx context.Context, notify func(int64)) error {
	f.n.Add(1)
	return errors.New("connection refused")
}

type silentFeed struct{ startCount }

func (f *silentFeed) ListenChanges(ctx context.Context, notify func(int64)) error {
	f.n.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

type startCount struct{ n atomic.Int64 }

func (c *startCount) starts() int64 { return c.n.Load() }

// A feed that is broken, or has not delivered anything, does not slow the
// credential cache down: it polls as if there were no feed, and a broken
// feed is retried.
func TestChangeFeedNotDeliveringKeepsPolling(t *testing.T) {
	for _, tc := range []struct {
		name string
		feed interface {
			gateway.ChangeFeed
			starts() int64
		}
		minStarts int64
	}{
		{"broken", &brokenFeed{}, 3},
		{"silent", &silentFeed{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *gateway.Config) { c.Changes = tc.feed; c.ChangePollInterval = time.Hour })
			u := e.createUser("alice", map[subgate.Product]int64{subgate.ProductAny: gb}, nil)
			target := echoOrigin(t)
			c := openTunnel(t, e.gw.ProxyAddr().String(), "alice", target)
			// Another process's service: the gateway hears of it only by polling.
			other := subgate.NewService(e.store)
			disabled := subgate.StatusDisabled
			if _, err := other.UpdateSubUser(context.Background(), admin, u.Hash, subgate.SubUserUpdate{Status: &disabled}); err != nil {
				t.Fatal(err)
			}
			waitCut(t, c, "disabled by another process")
			waitFor(t, patience, "the feed to be started again", func() bool { return tc.feed.starts() >= tc.minStarts })
		})
	}
}
