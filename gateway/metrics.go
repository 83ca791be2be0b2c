package gateway

import "github.com/prometheus/client_golang/prometheus"

// metrics are the gateway's Prometheus series. Hot-path counters are
// resolved once so a copy step never looks up a label.
type metrics struct {
	open       prometheus.Gauge
	total      *prometheus.CounterVec // by protocol
	refused    *prometheus.CounterVec // by reason
	bytesUp    prometheus.Counter     // client → target
	bytesDown  prometheus.Counter     // target → client
	authFail   prometheus.Counter
	flushTime  prometheus.Histogram
	flushFail  prometheus.Counter
	leases     *prometheus.CounterVec // by result: granted, empty, error
	leaseBytes prometheus.Counter
	cuts       *prometheus.CounterVec // live connections cut, by reason
}

func newMetrics(reg prometheus.Registerer) *metrics {
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "subgate_gateway_bytes_total", Help: "Metered payload bytes by direction (up: client to target, down: target to client).",
	}, []string{"direction"})
	m := &metrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "subgate_gateway_connections_open", Help: "Proxied connections open now.",
		}),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "subgate_gateway_connections_total", Help: "Proxied connections admitted, by protocol.",
		}, []string{"protocol"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "subgate_gateway_connections_refused_total", Help: "Connections or requests refused, by reason.",
		}, []string{"reason"}),
		bytesUp:   bytes.WithLabelValues("up"),
		bytesDown: bytes.WithLabelValues("down"),
		authFail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "subgate_gateway_auth_failures_total", Help: "Failed proxy authentications.",
		}),
		flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "subgate_gateway_flush_seconds", Help: "Duration of usage flushes to the store.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		flushFail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "subgate_gateway_flush_failures_total", Help: "Usage flushes that failed (retried with the same batch id).",
		}),
		leases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "subgate_gateway_lease_acquisitions_total", Help: "Lease requests to the store, by result.",
		}, []string{"result"}),
		leaseBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "subgate_gateway_lease_bytes_total", Help: "Bytes granted by store leases.",
		}),
		cuts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "subgate_gateway_connections_cut_total", Help: "Live connections cut by enforcement, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.open, m.total, m.refused, bytes, m.authFail, m.flushTime, m.flushFail, m.leases, m.leaseBytes, m.cuts)
	}
	return m
}
