package gateway

import (
	"context"
	"strconv"
	"time"

	"github.com/subgate/subgate"
)

// defaultLoadTimeout bounds one on-demand load unless the gateway's
// StoreTimeout replaces it; a login waits at most that long.
const defaultLoadTimeout = 1500 * time.Millisecond

// byUsername returns the live sub-user with that exact username: held,
// known absent (nil), or else loaded from the store, in which case fresh
// reports that the store answered just now.
func (c *credCache) byUsername(name string) (u *subgate.SubUser, fresh bool, err error) {
	c.mu.RLock()
	u = c.byName[name].use()
	_, absent := c.absent[name]
	c.mu.RUnlock()
	if u != nil || absent {
		return u, false, nil
	}
	u, err = c.fetch("n\x00"+name, name, func(ctx context.Context) (*subgate.SubUser, error) {
		return c.store.SubUserByUsername(ctx, name)
	})
	return u, err == nil, err
}

// loadID loads the live sub-user with that id (the IP index named it).
func (c *credCache) loadID(id int64) (*subgate.SubUser, error) {
	ref := strconv.FormatInt(id, 10)
	return c.fetch("i\x00"+ref, "", func(ctx context.Context) (*subgate.SubUser, error) {
		return c.store.SubUser(ctx, 0, ref)
	})
}

// fetch reads one sub-user from the store, in one round trip that
// concurrent misses of the same key share, and holds the outcome. name is
// the username looked up, "" for a lookup by id.
func (c *credCache) fetch(key, name string, read func(context.Context) (*subgate.SubUser, error)) (*subgate.SubUser, error) {
	v, err, _ := c.loads.Do(key, func() (any, error) {
		c.mu.Lock()
		since := c.recent.begin(c.seq)
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), c.loadTimeout)
		u, err := read(ctx)
		cancel()
		if subgate.ErrorCode(err) == subgate.ENOTFOUND {
			u, err = nil, nil
		}
		c.mu.Lock()
		ahead := false // u is newer than every change applied
		if err == nil {
			u = c.settleLocked(since, name, u)
			ahead = u != nil && u.Seq > c.seq
		}
		c.recent.end(since)
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if ahead {
			// apply will skip this change when it arrives; enforcement
			// hears of it now (it ignores sub-users it holds nothing of).
			c.onChange(nil, u)
		}
		c.evict()
		return u, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*subgate.SubUser), nil
}

// settleLocked reconciles a loaded sub-user (nil: the store did not know
// it) with the changes applied since the load began, which the store's
// answer may predate, and holds the outcome: the sub-user, or the absence
// of the username looked up.
func (c *credCache) settleLocked(since int64, name string, u *subgate.SubUser) *subgate.SubUser {
	if u != nil {
		if r := c.recent.byID[u.ID]; r != nil && r.Seq > u.Seq {
			u = r
		}
	}
	if name != "" {
		r := c.recent.byName[name]
		if r != nil && r.Seq > since && (u == nil || r.Seq > u.Seq) && c.recent.byID[r.ID] == r {
			u = r
		}
	}
	if u != nil && (u.DeletedAt != nil || (name != "" && u.Username != name)) {
		u = nil
	}
	if u == nil {
		if name != "" {
			c.addAbsentLocked(name)
		}
		return nil
	}
	if e := c.byID[u.ID]; e != nil && e.user.Seq >= u.Seq {
		return e.use()
	}
	c.allowLocked(u)
	c.putLocked(u)
	return u
}

// recentChanges keeps the changes applied while loads are in flight: a
// load's answer may predate them, and apply did not hold a sub-user the
// cache did not hold yet.
type recentChanges struct {
	byID   map[int64]*subgate.SubUser
	byName map[string]*subgate.SubUser
	order  []*subgate.SubUser // by Seq
	loads  map[int64]int      // loads in flight by the Seq they began at
}

func newRecentChanges() recentChanges {
	return recentChanges{byID: map[int64]*subgate.SubUser{}, byName: map[string]*subgate.SubUser{}, loads: map[int64]int{}}
}

// begin registers a load beginning with the cache at seq.
func (r *recentChanges) begin(seq int64) int64 {
	r.loads[seq]++
	return seq
}

func (r *recentChanges) end(seq int64) {
	if r.loads[seq]--; r.loads[seq] <= 0 {
		delete(r.loads, seq)
	}
	r.prune()
}

// note records an applied change, if a load may need it.
func (r *recentChanges) note(u *subgate.SubUser) {
	if len(r.loads) == 0 {
		return
	}
	r.byID[u.ID] = u
	r.byName[u.Username] = u
	r.order = append(r.order, u)
}

// prune forgets the changes every load in flight began after.
func (r *recentChanges) prune() {
	oldest := int64(-1)
	for seq := range r.loads {
		if oldest < 0 || seq < oldest {
			oldest = seq
		}
	}
	n := 0
	for ; n < len(r.order) && (oldest < 0 || r.order[n].Seq <= oldest); n++ {
		u := r.order[n]
		if r.byID[u.ID] == u {
			delete(r.byID, u.ID)
		}
		if r.byName[u.Username] == u {
			delete(r.byName, u.Username)
		}
	}
	r.order = r.order[n:]
}
