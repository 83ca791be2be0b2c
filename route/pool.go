package route

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/subgate/subgate"
)

// member is one egress a route can use: a source address, an upstream
// (chain) or a static IP.
type member interface {
	id() string              // stable identity: stickiness, health, metrics
	admitKey(c *call) string // the egress as ip_usage_cap counts it
	dial(ctx context.Context, c *call) (net.Conn, error)
	egressFailure(err error) bool // err means this egress is broken: try another
}

// targetChecker is a member that may refuse a target before it is admitted
// and dialled (local egress refusing private targets).
type targetChecker interface {
	checkTarget(c *call) error
}

// health is the state of one member, kept across configuration reloads.
type health struct {
	route, member string

	mu        sync.Mutex
	downUntil time.Time
	streak    int // consecutive failures

	failures atomic.Uint64
	active   atomic.Int64
}

func (h *health) up(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !now.Before(h.downUntil)
}

func (h *health) until() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.downUntil
}

// fail marks the member down for a back-off that doubles with each
// consecutive failure.
func (h *health) fail(now time.Time, base, limit time.Duration) {
	h.failures.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.streak++
	d := base
	for i := 1; i < h.streak && d < limit; i++ {
		d *= 2
	}
	h.downUntil = now.Add(min(d, limit))
}

func (h *health) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.streak, h.downUntil = 0, time.Time{}
}

// slot is a member with its health.
type slot struct {
	m member
	h *health
}

// pool picks among a route's members.
type pool struct {
	pick Pick
	next atomic.Uint64
}

// order lists the slots in the order to try them: the session's bound
// member first when it is up, then the rotation (round-robin or fewest
// active connections) over members that are up, then members in back-off,
// soonest back first, as a last resort.
func (p *pool) order(slots []slot, bound string, now time.Time) []slot {
	n := len(slots)
	start := int(p.next.Add(1)-1) % max(n, 1)
	rot := make([]slot, 0, n)
	rot = append(rot, slots[start:]...)
	rot = append(rot, slots[:start]...)
	if p.pick == PickLeastConn {
		slices.SortStableFunc(rot, func(a, b slot) int {
			return int(a.h.active.Load() - b.h.active.Load())
		})
	}
	var up, down []slot
	for _, s := range rot {
		switch {
		case bound != "" && s.m.id() == bound && s.h.up(now):
			up = append([]slot{s}, up...)
		case s.h.up(now):
			up = append(up, s)
		default:
			down = append(down, s)
		}
	}
	slices.SortStableFunc(down, func(a, b slot) int { return a.h.until().Compare(b.h.until()) })
	return append(up, down...)
}

// dial tries the slots in order until one connects. A sticky session is
// bound to the member that connected. Admit is asked before each attempt;
// its refusal ends the dial.
func (r *Router) dialSlots(ctx context.Context, t *table, p *pool, c *call, slots []slot) (net.Conn, error) {
	if len(slots) == 0 {
		return nil, noEgress("no egress available for product %s", c.product)
	}
	var bound string
	if c.sticky {
		bound = r.sessions.lookup(c.skey, c.now)
	}
	var errs []error
	for _, s := range p.order(slots, bound, c.now) {
		if tc, ok := s.m.(targetChecker); ok {
			if err := tc.checkTarget(c); err != nil {
				r.metrics.dial(c.product, resultRefused)
				return nil, err
			}
		}
		if c.req.Admit != nil {
			if err := c.req.Admit(s.m.admitKey(c)); err != nil {
				r.metrics.dial(c.product, resultAdmitRefused)
				return nil, err
			}
		}
		actx, cancel := context.WithTimeout(ctx, time.Duration(t.cfg.DialTimeout))
		conn, err := s.m.dial(actx, c)
		cancel()
		if err == nil {
			s.h.ok()
			if c.sticky {
				r.sessions.bind(c.skey, s.m.id(), c.ttl, c.now)
			}
			r.metrics.dial(c.product, resultOK)
			if p.pick == PickLeastConn {
				conn = track(conn, &s.h.active)
			}
			return conn, nil
		}
		if cerr := ctxDone(ctx); cerr != nil {
			r.metrics.dial(c.product, resultFailed)
			return nil, cerr
		}
		if !s.m.egressFailure(err) {
			r.metrics.dial(c.product, resultRefused)
			return nil, err
		}
		s.h.fail(r.now(), time.Duration(t.cfg.UnhealthyBackoff), time.Duration(t.cfg.MaxBackoff))
		r.log.Warn("egress failed", "product", c.product, "egress", s.m.id(), "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", s.m.id(), err))
	}
	r.metrics.dial(c.product, resultFailed)
	return nil, &EgressError{Product: c.product, Err: errors.Join(errs...)}
}

// EgressError says every egress of a route failed for a connection.
type EgressError struct {
	Product subgate.Product
	Err     error
}

func (e *EgressError) Error() string {
	return fmt.Sprintf("no egress of product %s could connect: %v", e.Product, e.Err)
}

func (e *EgressError) Unwrap() error { return e.Err }
