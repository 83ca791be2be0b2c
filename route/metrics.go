package route

import (
	"cmp"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/subgate/subgate"
)

// Dial outcomes counted by subgate_route_dials_total.
const (
	resultOK           = "ok"
	resultRefused      = "refused"       // the target refused or is unreachable
	resultFailed       = "failed"        // every egress failed, or the caller gave up
	resultAdmitRefused = "admit_refused" // the gateway refused the egress (ip_usage_cap)
	resultNoRoute      = "no_route"
	resultNoEgress     = "no_egress"
)

// metrics exposes egress health at scrape time and counts dials.
type metrics struct {
	r        *Router
	dials    *prometheus.CounterVec
	up       *prometheus.Desc
	active   *prometheus.Desc
	failures *prometheus.Desc
	sessions *prometheus.Desc
}

func newMetrics(r *Router) *metrics {
	labels := []string{"product", "egress"}
	return &metrics{
		r: r,
		dials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "subgate_route_dials_total",
			Help: "Outbound connections routed, by product and result.",
		}, []string{"product", "result"}),
		up: prometheus.NewDesc("subgate_route_egress_up",
			"1 when the egress (upstream, source address or static IP) is usable, 0 while it is in back-off after a failure.", labels, nil),
		active: prometheus.NewDesc("subgate_route_egress_active_connections",
			"Open connections through the egress (upstreams and static proxies).", labels, nil),
		failures: prometheus.NewDesc("subgate_route_egress_failures_total",
			"Failed attempts to connect through the egress.", labels, nil),
		sessions: prometheus.NewDesc("subgate_route_sticky_sessions",
			"Sticky sessions currently remembered.", nil, nil),
	}
}

func (m *metrics) dial(p subgate.Product, result string) {
	m.dials.WithLabelValues(string(p), result).Inc()
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.dials.Describe(ch)
	ch <- m.up
	ch <- m.active
	ch <- m.failures
	ch <- m.sessions
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.dials.Collect(ch)
	now := m.r.now()
	m.r.mu.Lock()
	hs := make([]*health, 0, len(m.r.health))
	for _, h := range m.r.health {
		hs = append(hs, h)
	}
	m.r.mu.Unlock()
	for _, h := range hs {
		up := 0.0
		if h.up(now) {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(m.up, prometheus.GaugeValue, up, h.route, h.member)
		ch <- prometheus.MustNewConstMetric(m.active, prometheus.GaugeValue, float64(h.active.Load()), h.route, h.member)
		ch <- prometheus.MustNewConstMetric(m.failures, prometheus.CounterValue, float64(h.failures.Load()), h.route, h.member)
	}
	ch <- prometheus.MustNewConstMetric(m.sessions, prometheus.GaugeValue, float64(m.r.sessions.len()))
}

// EgressHealth is the state of one egress, for an admin API.
type EgressHealth struct {
	Product   subgate.Product `json:"product"`
	Egress    string          `json:"egress"`
	Up        bool            `json:"up"`
	DownUntil *time.Time      `json:"down_until,omitempty"`
	Failures  uint64          `json:"failures"`
	Active    int64           `json:"active_connections"`
}

// Health lists every egress the router knows, ordered by product and name.
func (r *Router) Health() []EgressHealth {
	now := r.now()
	r.mu.Lock()
	out := make([]EgressHealth, 0, len(r.health))
	for _, h := range r.health {
		e := EgressHealth{Product: subgate.Product(h.route), Egress: h.member, Up: h.up(now),
			Failures: h.failures.Load(), Active: h.active.Load()}
		if !e.Up {
			t := h.until()
			e.DownUntil = &t
		}
		out = append(out, e)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b EgressHealth) int {
		return cmp.Or(cmp.Compare(a.Product, b.Product), cmp.Compare(a.Egress, b.Egress))
	})
	return out
}
