package gateway

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/subgate/subgate"
)

// flusher moves settled usage and lease releases to the store, one
// transaction (FlushUsage) per batch (egress keys go to the store when
// admitted, see admitEgress). A batch that fails stays
// queued and is retried with the same ID and content, so the store applies
// it once no matter how often it is sent; newer usage goes into a later
// batch. Batches never sent are merged, so a long outage queues at most two.
type flusher struct {
	g         *Gateway
	mu        sync.Mutex
	queue     []*queuedBatch
	lastFlush time.Time
	kickCh    chan struct{}
}

func newFlusher(g *Gateway) *flusher { return &flusher{g: g, kickCh: make(chan struct{}, 1)} }

// kick asks for a flush now, without waiting for it; it never blocks.
func (f *flusher) kick() {
	select {
	case f.kickCh <- struct{}{}:
	default:
	}
}

func (f *flusher) run(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(f.g.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-f.kickCh:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := f.flush(ctx, false); err != nil {
			f.g.log.Warn("usage flush failed; will retry with the same batch", "err", err)
		}
		cancel()
	}
}

// flush sends queued batches, then a new one with everything settled since.
// With final set, every unreserved lease is released too.
func (f *flusher) flush(ctx context.Context, final bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flushLocked(ctx, final)
}

// queuedBatch is a batch waiting for the store; once sent it may have been
// applied, so its content never changes again.
type queuedBatch struct {
	b    *subgate.UsageBatch
	sent bool
}

func (f *flusher) flushLocked(ctx context.Context, final bool) error {
	if b := f.collect(f.g.now(), final); b != nil {
		f.enqueue(b)
	}
	for len(f.queue) > 0 {
		q := f.queue[0]
		// The store renews the node's leases from Now: the time of this
		// attempt, not of the batch's first one.
		q.b.Now = f.g.now()
		q.sent = true
		start := time.Now()
		err := f.g.cfg.Store.FlushUsage(ctx, *q.b)
		f.g.metrics.flushTime.Observe(time.Since(start).Seconds())
		if err != nil {
			f.g.metrics.flushFail.Inc()
			return err
		}
		f.queue = f.queue[1:]
		f.lastFlush = q.b.Now
		f.renewed(q.b.Now)
	}
	return nil
}

// enqueue queues b, merged into the last queued batch when that one was
// never sent.
func (f *flusher) enqueue(b *subgate.UsageBatch) {
	if n := len(f.queue); n > 0 && !f.queue[n-1].sent {
		mergeBatch(f.queue[n-1].b, b)
		return
	}
	f.queue = append(f.queue, &queuedBatch{b: b})
}

// mergeBatch adds src's usage, releases and egress records to dst.
func mergeBatch(dst, src *subgate.UsageBatch) {
	type itemKey struct {
		id   int64
		p    subgate.Product
		hour int64
	}
	items := make(map[itemKey]int, len(dst.Items))
	for i, it := range dst.Items {
		items[itemKey{it.SubUserID, it.Product, it.Hour.Unix()}] = i
	}
	for _, it := range src.Items {
		k := itemKey{it.SubUserID, it.Product, it.Hour.Unix()}
		if i, ok := items[k]; ok {
			dst.Items[i].Bytes += it.Bytes
			continue
		}
		items[k] = len(dst.Items)
		dst.Items = append(dst.Items, it)
	}
	sortItems(dst.Items)
	type releaseKey struct {
		id int64
		p  subgate.Product
	}
	releases := make(map[releaseKey]int, len(dst.Release))
	for i, r := range dst.Release {
		releases[releaseKey{r.SubUserID, r.Product}] = i
	}
	for _, r := range src.Release {
		k := releaseKey{r.SubUserID, r.Product}
		if i, ok := releases[k]; ok {
			dst.Release[i].Bytes += r.Bytes
			continue
		}
		releases[k] = len(dst.Release)
		dst.Release = append(dst.Release, r)
	}
	seen := make(map[subgate.EgressUse]bool, len(dst.Egress))
	for _, e := range dst.Egress {
		seen[e] = true
	}
	for _, e := range src.Egress {
		if !seen[e] {
			seen[e] = true
			dst.Egress = append(dst.Egress, e)
		}
	}
}

// renewed records that the store renewed the node's live leases at at.
func (f *flusher) renewed(at time.Time) {
	ttl := f.g.cfg.LeaseTTL
	m := f.g.meter
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.accounts {
		a.mu.Lock()
		for _, b := range a.balances {
			b.renew(at, ttl)
		}
		a.mu.Unlock()
	}
}

// final flushes everything at shutdown, retrying until ctx is done.
func (f *flusher) final(ctx context.Context) error {
	for {
		err := f.flush(ctx, true)
		if err == nil {
			return nil
		}
		f.g.log.Error("final usage flush failed", "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// collect takes everything to send from the accounts; nil when there is
// nothing to send and the node's leases need no renewal yet.
func (f *flusher) collect(now time.Time, final bool) *subgate.UsageBatch {
	g := f.g
	b := &subgate.UsageBatch{Node: g.cfg.Node, Now: now, Windows: g.cfg.Windows, LeaseTTL: g.cfg.LeaseTTL}
	holding := false
	m := g.meter
	m.mu.Lock()
	for id, a := range m.accounts {
		a.mu.Lock()
		for _, bal := range a.balances {
			bal.drainLocked()
		}
		for k, n := range a.pending {
			b.Items = append(b.Items, subgate.UsageItem{SubUserID: id, Product: k.product, Hour: time.Unix(k.hour, 0).UTC(), Bytes: n})
		}
		clear(a.pending)
		idle := len(a.sessions) == 0
		for p, bal := range a.balances {
			if final || (idle && now.Sub(a.idleSince) >= idleRelease) {
				if n := bal.releasable(now); n > 0 {
					a.release[p] += n
				}
			}
			if bal.avail.Load() > 0 && !bal.expired(now) {
				holding = true
			}
		}
		for p, n := range a.release {
			b.Release = append(b.Release, subgate.LeaseRelease{SubUserID: id, Product: p, Bytes: n})
		}
		clear(a.release)
		if idle && a.drainedLocked() && a.slotsIdleLocked() && now.Sub(a.idleSince) >= idleRelease {
			delete(m.accounts, id)
		}
		a.mu.Unlock()
	}
	m.pruneEgressLocked(now)
	m.mu.Unlock()
	if len(b.Items) == 0 && len(b.Release) == 0 && len(b.Egress) == 0 &&
		(!holding || now.Sub(f.lastFlush) < g.cfg.LeaseTTL/3) {
		return nil
	}
	sortItems(b.Items)
	b.ID = ulid.Make().String()
	return b
}

// sortItems orders usage items by sub-user: nodes lock rows in the same
// order, so they wait on each other less.
func sortItems(items []subgate.UsageItem) {
	sort.Slice(items, func(i, j int) bool {
		if items[i].SubUserID != items[j].SubUserID {
			return items[i].SubUserID < items[j].SubUserID
		}
		return items[i].Product < items[j].Product
	})
}

// drainedLocked reports whether the account holds no lease bytes.
func (a *account) drainedLocked() bool {
	for _, b := range a.balances {
		if b.avail.Load() != 0 {
			return false
		}
	}
	return true
}

// Flush sends all settled usage to the store now (usage otherwise reaches
// it within FlushInterval).
func (g *Gateway) Flush(ctx context.Context) error { return g.flusher.flush(ctx, false) }
