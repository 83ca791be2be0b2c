package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ChangeFeed announces sub-user changes committed by any node as they
// commit (PostgreSQL's LISTEN/NOTIFY). *postgres.Store is one.
type ChangeFeed interface {
	// ListenChanges calls notify with the Seq of each committed change
	// until ctx ends or the feed breaks; it is called again after an error.
	ListenChanges(ctx context.Context, notify func(seq int64)) error
}

const (
	// Reconnection back-off of a broken feed.
	feedRetryMin = 100 * time.Millisecond
	feedRetryMax = 5 * time.Second
	// feedGap spaces the refreshes announcements cause: the first change
	// of a burst is applied at once, the rest together after the gap, so a
	// stream of writes costs a node at most one query per gap.
	feedGap = 10 * time.Millisecond
)

// follow refreshes the credential cache on every change the feed announces
// beyond what the cache holds, and reconnects the feed when it breaks.
func (c *credCache) follow(stop <-chan struct{}, feed ChangeFeed, log *slog.Logger, wg *sync.WaitGroup) {
	defer wg.Done()
	var helpers sync.WaitGroup
	defer helpers.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	helpers.Go(func() {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	})
	due := make(chan struct{}, 1)
	helpers.Go(func() { c.pokeSpaced(ctx, due) })
	retry := feedRetryMin
	for {
		began := time.Now()
		err := feed.ListenChanges(ctx, func(seq int64) {
			c.feedLive.Store(true)
			if seq > c.currentSeq() {
				select {
				case due <- struct{}{}:
				default:
				}
			}
		})
		c.feedLive.Store(false)
		if ctx.Err() != nil {
			return
		}
		log.Warn("change feed broke; polling until it delivers again", "err", err)
		c.poke() // what the feed may have missed
		if time.Since(began) > feedRetryMax {
			retry = feedRetryMin // it ran for a while: a fresh break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		retry = min(2*retry, feedRetryMax)
	}
}

// pokeSpaced turns announcements on due into refreshes at most one per feedGap.
func (c *credCache) pokeSpaced(ctx context.Context, due <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-due:
		}
		c.poke()
		select {
		case <-ctx.Done():
			return
		case <-time.After(feedGap):
		}
	}
}

func (c *credCache) currentSeq() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.seq
}
