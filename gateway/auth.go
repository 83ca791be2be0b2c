package gateway

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/subgate/subgate"
)

// credCache answers every authentication from memory. It loads all
// sub-users once, then follows Store.SubUsersChanged by sequence number:
// polled often (cheap, and it sees changes made by other nodes) and at once
// when this process's Service or a change feed (see follow) reports a
// change. A connection never waits on the database to authenticate.
type credCache struct {
	store    subgate.Store
	onChange func(old, cur *subgate.SubUser) // old or cur may be nil
	misses   *missCache                      // which misses may catch up

	mu      sync.RWMutex
	byName  map[string]*subgate.SubUser
	byID    map[int64]*subgate.SubUser
	ipRules *ipIndex // AllowIPs of every live sub-user
	seq     int64

	refreshMu sync.Mutex   // one refresh at a time
	lastStart time.Time    // when the latest refresh began
	lastPoll  atomic.Int64 // unix nanoseconds of the latest refresh's start
	pokeCh    chan struct{}
	// feedLive: the change feed delivered since it (re)connected. Only then
	// is it trusted to replace fast polling: a change committed while it was
	// down or not yet listening is still found by a poll.
	feedLive atomic.Bool
}

const changedPage = 1000

func newCredCache(store subgate.Store, onChange func(old, cur *subgate.SubUser)) *credCache {
	return &credCache{
		store: store, onChange: onChange, misses: newMissCache(), ipRules: newIPIndex(),
		byName: map[string]*subgate.SubUser{}, byID: map[int64]*subgate.SubUser{},
		pokeCh: make(chan struct{}, 1),
	}
}

func (c *credCache) load(ctx context.Context) error { return c.refresh(ctx) }

// poke asks for a refresh now; it never blocks.
func (c *credCache) poke() {
	select {
	case c.pokeCh <- struct{}{}:
	default:
	}
}

// run refreshes on every poke and every tick; while a change feed delivers,
// ticks refresh only once safetyNet has passed since the latest refresh.
func (c *credCache) run(stop <-chan struct{}, every, safetyNet time.Duration, log *slog.Logger, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if c.feedLive.Load() && time.Since(time.Unix(0, c.lastPoll.Load())) < safetyNet {
				continue
			}
		case <-c.pokeCh:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.refresh(ctx); err != nil {
			log.Warn("credential refresh failed", "err", err)
		}
		cancel()
	}
}

// refresh applies every change committed since the last one seen.
func (c *credCache) refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	return c.refreshLocked(ctx)
}

func (c *credCache) refreshLocked(ctx context.Context) error {
	c.lastStart = time.Now()
	c.lastPoll.Store(c.lastStart.UnixNano())
	for {
		c.mu.RLock()
		after := c.seq
		c.mu.RUnlock()
		page, err := c.store.SubUsersChanged(ctx, after, changedPage)
		if err != nil {
			return err
		}
		c.apply(page)
		if len(page) < changedPage {
			return nil
		}
	}
}

func (c *credCache) apply(page []*subgate.SubUser) {
	type change struct{ old, cur *subgate.SubUser }
	var changes []change
	c.mu.Lock()
	for _, u := range page {
		c.seq = max(c.seq, u.Seq)
		old := c.byID[u.ID]
		if old != nil && c.byName[old.Username] == old {
			delete(c.byName, old.Username)
		}
		c.ipRules.update(old, u)
		if u.DeletedAt != nil {
			delete(c.byID, u.ID)
			changes = append(changes, change{old, u})
			continue
		}
		c.byID[u.ID] = u
		c.byName[u.Username] = u
		changes = append(changes, change{old, u})
	}
	c.mu.Unlock()
	for _, ch := range changes {
		if ch.old != nil || ch.cur.DeletedAt == nil {
			c.onChange(ch.old, ch.cur)
		}
	}
}

// catchUpOnMiss catches up after a lookup missed, unless the same miss
// (named by its parts) caught up lately or misses used up their budget: a
// sub-user created a moment ago authenticates at once, while repeated
// failures do not reach the store.
func (c *credCache) catchUpOnMiss(log *slog.Logger, miss ...string) {
	if c.misses.first(time.Now(), miss...) {
		c.catchUp(log)
	}
}

// catchUp makes sure a refresh that began after the caller's lookup missed
// has run. Misses that arrive together share one refresh, so they cost at
// most one query in flight.
func (c *credCache) catchUp(log *slog.Logger) {
	missed := time.Now()
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	if c.lastStart.After(missed) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.refreshLocked(ctx); err != nil {
		log.Warn("credential refresh failed", "err", err)
	}
}

// byUsername returns the live sub-user with that exact username.
func (c *credCache) byUsername(name string) *subgate.SubUser {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byName[name]
}

// get returns the live sub-user with that id.
func (c *credCache) get(id int64) *subgate.SubUser {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byID[id]
}

// byIP returns the sub-user whose AllowIPs holds ip most specifically. When
// sub-users of more than one reseller allow ip, none is returned and
// resellers lists them: a reseller must not take over another's clients by
// allow-listing a narrower prefix.
func (c *credCache) byIP(ip netip.Addr) (u *subgate.SubUser, resellers []int64) {
	ip = ip.Unmap()
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, found, resellers := c.ipRules.lookup(ip)
	if len(resellers) > 1 {
		return nil, resellers
	}
	if !found {
		return nil, nil
	}
	return c.byID[id], nil
}

// principal is an authenticated proxy client.
type principal struct {
	user     *subgate.SubUser // snapshot at authentication
	password string           // the password it proved, "" for IP authentication
	target   subgate.Target
}

// authenticate checks proxy credentials (or, without any, the source IP)
// and parses targeting parameters. A wrong credential is ReasonAuth; a
// right one with malformed parameters is ReasonBadParameter. Failures are
// limited per source, per source and username, and per username (see
// authLimiter); a limited login is refused before anything is checked.
func (g *Gateway) authenticate(user, pass string, hasCreds bool, ip netip.Addr) (*principal, *refusal) {
	if !hasCreds {
		u, resellers := g.creds.byIP(ip)
		if u == nil && resellers == nil {
			// Counted per source; the client is asked for credentials
			// either way.
			if try, ok := g.limiter.Begin(ip, ""); ok {
				g.creds.catchUpOnMiss(g.log, "ip", ip.Unmap().String())
				u, resellers = g.creds.byIP(ip)
				try.Done(u == nil && resellers == nil)
			}
		}
		if resellers != nil {
			g.log.Warn("source IP is allow-listed by sub-users of several resellers; IP authentication refused",
				"client", ip.String(), "reseller_ids", resellers)
			g.metrics.authFail.Inc()
			return nil, refuse(subgate.ReasonAuth, "source IP is allow-listed by more than one reseller: proxy credentials required")
		}
		if u != nil {
			return &principal{user: u}, nil
		}
		return nil, g.authFailed("proxy credentials required")
	}
	name := subgate.ProxyUsername(user)
	secret := subgate.ProxySecret(pass) // '_' may be part of the password itself
	try, ok := g.limiter.Begin(ip, name)
	if !ok {
		g.metrics.authFail.Inc()
		return nil, refuse(reasonRateLimited, "too many failed logins, try again later")
	}
	u := g.creds.byUsername(name)
	if u == nil || !subgate.EqualSecret(u.Password, secret) {
		// Maybe created or changed a moment ago: catch up (at most once a
		// while per username) and look again.
		g.creds.catchUpOnMiss(g.log, "user", name)
		u = g.creds.byUsername(name)
	}
	if u == nil || !subgate.EqualSecret(u.Password, secret) {
		try.Done(true)
		return nil, g.authFailed("wrong username or password")
	}
	try.Done(false)
	_, _, t, err := subgate.ParseProxyCredentials(user, pass)
	if err != nil {
		return nil, refuse(subgate.ReasonBadParameter, "%s", subgate.ErrorMessage(err))
	}
	return &principal{user: u, password: secret, target: t}, nil
}

func (g *Gateway) authFailed(msg string) *refusal {
	g.metrics.authFail.Inc()
	return refuse(subgate.ReasonAuth, "%s", msg)
}
