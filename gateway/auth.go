package gateway

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/subgate/subgate"
)

// credCache answers authentication from memory where it can. It holds at
// most size sub-users (besides those enforcement holds, see credentries.go),
// loads the others from the store by username on a miss (credload.go), and
// remembers which usernames the store does not know. At start it reads only
// where the change sequence stands and the allow-listed sub-users (the IP
// index needs all of them), so a node listens at once however many
// sub-users there are. It then follows Store.SubUsersChanged by sequence
// number: polled often (cheap, and it sees changes made by other nodes) and
// at once when this process's Service or a change feed (see follow)
// reports a change. Every change reaches onChange, held or not, so
// enforcement never depends on what the cache holds.
type credCache struct {
	store    subgate.Store
	onChange func(old, cur *subgate.SubUser) // old or cur may be nil
	misses   *missCache                      // which misses may catch up
	size     int                             // sub-users held, besides live ones
	// live reports whether enforcement holds a sub-user (it has sessions or
	// leases): such a one is never evicted. Nil: none is.
	live        func(id int64) bool
	loads       singleflight.Group // concurrent misses of one key share a load
	loadTimeout time.Duration      // bounds one load (Config.StoreTimeout)
	evictMu     sync.Mutex         // one eviction at a time

	mu      sync.RWMutex
	byName  map[string]*credEntry
	byID    map[int64]*credEntry
	ring    []*credEntry          // eviction order (see evict)
	hand    int                   // next ring slot eviction looks at
	absent  map[string]struct{}   // usernames the store did not know
	allowed map[int64]allowedRule // every live sub-user with AllowIPs
	ipRules *ipIndex              // allowed, by prefix
	recent  recentChanges         // changes applied while loads were in flight
	seq     int64

	refreshMu sync.Mutex   // one refresh at a time
	lastStart time.Time    // when the latest refresh began
	lastPoll  atomic.Int64 // unix nanoseconds of the latest refresh's start
	pokeCh    chan struct{}
	// announced counts pokes (changes announced); applied is how many a
	// refresh that has finished had seen when it began. While applied is
	// behind, a miss catches up whatever missCache says: the change may be
	// the sub-user being tried.
	announced, applied atomic.Int64
	// feedLive: the change feed delivered since it (re)connected. Only then
	// is it trusted to replace fast polling: a change committed while it was
	// down or not yet listening is still found by a poll.
	feedLive atomic.Bool
}

// allowedRule is what the IP index holds of an allow-listing sub-user, held
// or not: enough to take its prefixes out again when it changes.
type allowedRule struct {
	reseller int64
	prefixes []netip.Prefix
	seq      int64
}

const (
	changedPage = 1000
	// DefaultCredCacheSize is how many sub-users a gateway holds by default.
	DefaultCredCacheSize = 100_000
)

func newCredCache(store subgate.Store, onChange func(old, cur *subgate.SubUser)) *credCache {
	return &credCache{
		store: store, onChange: onChange, misses: newMissCache(), ipRules: newIPIndex(),
		size: DefaultCredCacheSize, loadTimeout: defaultLoadTimeout,
		byName: map[string]*credEntry{}, byID: map[int64]*credEntry{},
		absent: map[string]struct{}{}, allowed: map[int64]allowedRule{},
		recent: newRecentChanges(),
		pokeCh: make(chan struct{}, 1),
	}
}

// load prepares the cache at start: it reads where the change sequence
// stands before anything else, so changes committed while it loads the
// allow-listed sub-users are applied after, then those sub-users.
func (c *credCache) load(ctx context.Context) error {
	seq, err := c.store.SubUsersSeq(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.seq = max(c.seq, seq)
	c.mu.Unlock()
	for after := int64(0); ; {
		page, err := c.store.SubUsersAllowingIPs(ctx, after, changedPage)
		if err != nil {
			return err
		}
		c.mu.Lock()
		for _, u := range page {
			c.allowLocked(u)
			if len(c.byID) < c.size {
				c.putLocked(u)
			}
		}
		c.mu.Unlock()
		if len(page) < changedPage {
			break
		}
		after = page[len(page)-1].ID
	}
	c.lastPoll.Store(time.Now().UnixNano())
	return nil
}

// poke asks for a refresh now; it never blocks.
func (c *credCache) poke() {
	c.announced.Add(1)
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
	announced := c.announced.Load()
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
			c.applied.Store(announced)
			return nil
		}
	}
}

// apply applies changes in Seq order: to the sub-users held, to the IP
// index, to the usernames known absent (one that appears is absent no
// more: held at once, as someone just tried it), and to onChange.
func (c *credCache) apply(page []*subgate.SubUser) {
	type change struct{ old, cur *subgate.SubUser }
	changes := make([]change, 0, len(page))
	c.mu.Lock()
	for _, u := range page {
		c.seq = max(c.seq, u.Seq)
		c.recent.note(u)
		c.allowLocked(u)
		var old *subgate.SubUser
		if e := c.byID[u.ID]; e != nil {
			old = e.user
		}
		_, tried := c.absent[u.Username]
		delete(c.absent, u.Username)
		switch {
		case old != nil && old.Seq >= u.Seq:
			// Loaded on a miss after this change committed, and told
			// onChange then (see fetch).
			continue
		case u.DeletedAt != nil:
			c.dropLocked(u.ID)
		case old != nil || tried:
			c.putLocked(u)
		}
		changes = append(changes, change{old, u})
	}
	c.recent.prune()
	c.mu.Unlock()
	for _, ch := range changes {
		c.onChange(ch.old, ch.cur)
	}
	c.evict()
}

// allowLocked brings the IP index up to date with u, unless it holds a
// newer state of u already (loaded at start after u's change committed).
func (c *credCache) allowLocked(u *subgate.SubUser) {
	old, had := c.allowed[u.ID]
	if had && old.seq >= u.Seq {
		return
	}
	if had {
		for _, p := range old.prefixes {
			c.ipRules.remove(p, u.ID, old.reseller)
		}
		delete(c.allowed, u.ID)
	}
	if u.DeletedAt != nil || len(u.AllowIPs) == 0 {
		return
	}
	for _, p := range u.AllowIPs {
		c.ipRules.add(p, u.ID, u.ResellerID)
	}
	c.allowed[u.ID] = allowedRule{reseller: u.ResellerID, prefixes: u.AllowIPs, seq: u.Seq}
}

// catchUpOnMiss catches up after a lookup missed, when a change was
// announced and not read yet, or else unless the same miss (named by its
// parts) caught up lately or misses used up their budget: a sub-user
// created a moment ago authenticates at once, while repeated failures do
// not reach the store.
func (c *credCache) catchUpOnMiss(log *slog.Logger, miss ...string) {
	if announced := c.announced.Load(); c.applied.Load() < announced {
		c.catchUpTo(log, announced)
	} else if c.misses.first(time.Now(), miss...) {
		c.catchUp(log)
	}
}

// catchUpTo makes sure a refresh that began after the given count of
// announcements has run, sharing one that runs already.
func (c *credCache) catchUpTo(log *slog.Logger, announced int64) {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	if c.applied.Load() < announced {
		c.catchUpLocked(log)
	}
}

// catchUp makes sure a refresh that began after the caller's lookup missed
// has run. Misses that arrive together share one refresh, so they cost at
// most one query in flight.
func (c *credCache) catchUp(log *slog.Logger) {
	missed := time.Now()
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	if !c.lastStart.After(missed) {
		c.catchUpLocked(log)
	}
}

// catchUpLocked refreshes for a waiting login, bounded; the caller holds
// refreshMu.
func (c *credCache) catchUpLocked(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.refreshLocked(ctx); err != nil {
		log.Warn("credential refresh failed", "err", err)
	}
}

// cached returns the held live sub-user with that exact username, or nil.
func (c *credCache) cached(name string) *subgate.SubUser {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byName[name].use()
}

// get returns the held live sub-user with that id, or nil.
func (c *credCache) get(id int64) *subgate.SubUser {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byID[id].use()
}

// byIP returns the sub-user whose AllowIPs holds ip most specifically,
// loading it when it is not held. When sub-users of more than one reseller
// allow ip, none is returned and resellers lists them: a reseller must not
// take over another's clients by allow-listing a narrower prefix.
func (c *credCache) byIP(ip netip.Addr) (u *subgate.SubUser, resellers []int64, err error) {
	ip = ip.Unmap()
	c.mu.RLock()
	id, found, resellers := c.ipRules.lookup(ip)
	if found && len(resellers) <= 1 {
		u = c.byID[id].use()
	}
	c.mu.RUnlock()
	if len(resellers) > 1 {
		return nil, resellers, nil
	}
	if !found || u != nil {
		return u, nil, nil
	}
	u, err = c.loadID(id)
	return u, nil, err
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
		u, resellers, err := g.creds.byIP(ip)
		if err == nil && u == nil && resellers == nil {
			// Counted per source; the client is asked for credentials
			// either way.
			if try, ok := g.limiter.Begin(ip, ""); ok {
				g.creds.catchUpOnMiss(g.log, "ip", ip.Unmap().String())
				u, resellers, err = g.creds.byIP(ip)
				if err != nil {
					try.Abandon()
				} else {
					try.Done(u == nil && resellers == nil)
				}
			}
		}
		if err != nil {
			return nil, g.credsUnavailable(err)
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
	try, ok := g.limiter.Begin(ip, name)
	if !ok {
		g.metrics.authFail.Inc()
		return nil, refuse(reasonRateLimited, "too many failed logins, try again later")
	}
	u, fresh, err := g.creds.byUsername(name)
	if err != nil {
		try.Abandon()
		return nil, g.credsUnavailable(err)
	}
	settings, ok := provePassword(u, pass)
	if !fresh && !ok {
		// Maybe created or changed a moment ago: catch up (at most once a
		// while per username) and look again. An answer the store just
		// gave needs no catching up.
		g.creds.catchUpOnMiss(g.log, "user", name)
		u = g.creds.cached(name)
		settings, ok = provePassword(u, pass)
	}
	if !ok {
		try.Done(true)
		return nil, g.authFailed("wrong username or password")
	}
	try.Done(false)
	t, err := subgate.ParseProxyTarget(user, settings)
	if err != nil {
		return nil, refuse(subgate.ReasonBadParameter, "%s", subgate.ErrorMessage(err))
	}
	return &principal{user: u, password: u.Password, target: t}, nil
}

// provePassword checks a proxy password against the sub-user u (nil when
// not found) and returns the settings that follow it.
func provePassword(u *subgate.SubUser, pass string) (settings string, ok bool) {
	if u == nil {
		return "", false
	}
	return subgate.MatchProxyPassword(u.Password, pass)
}

// credsUnavailable refuses a login the store had to answer and did not.
func (g *Gateway) credsUnavailable(err error) *refusal {
	g.log.Warn("credential load failed", "err", err)
	g.metrics.authFail.Inc()
	return refuse(reasonUnavailable, "credentials cannot be checked now, try again")
}

func (g *Gateway) authFailed(msg string) *refusal {
	g.metrics.authFail.Inc()
	return refuse(subgate.ReasonAuth, "%s", msg)
}
