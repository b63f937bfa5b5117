package bots

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the delivery engine's Prometheus series, labelled by platform. A nil *Metrics records nothing.
type Metrics struct {
	queued        *prometheus.CounterVec
	sent          *prometheus.CounterVec
	failed        *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	retries       *prometheus.CounterVec
	rateLimited   *prometheus.CounterVec
	sendLatency   *prometheus.HistogramVec
	queueDepth    *prometheus.GaugeVec
	oldestPending *prometheus.GaugeVec
}

// NewMetrics creates the delivery metrics and registers them on reg (not on the global registry).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "herald", Subsystem: "delivery", Name: name, Help: help}, labels)
	}
	m := &Metrics{
		queued:      counter("queued_total", "Deliveries queued.", "platform", "kind"),
		sent:        counter("sent_total", "Deliveries sent.", "platform", "kind"),
		failed:      counter("failed_total", "Deliveries failed for good, by cause.", "platform", "kind", "cause"),
		skipped:     counter("skipped_total", "Deliveries skipped at send time, by cause.", "platform", "kind", "cause"),
		retries:     counter("retries_total", "Sends scheduled for another attempt.", "platform"),
		rateLimited: counter("rate_limited_total", "Sends refused with a platform rate limit (429).", "platform"),
		sendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "herald", Subsystem: "delivery", Name: "send_seconds",
			Help: "Latency of one platform send call.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"platform"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "herald", Subsystem: "delivery", Name: "queue_depth",
			Help: "Deliveries pending or in flight."}, []string{"platform"}),
		oldestPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "herald", Subsystem: "delivery", Name: "oldest_pending_seconds",
			Help: "Age of the oldest due pending delivery."}, []string{"platform"}),
	}
	var err error
	// A second Metrics on the same registry (one per Queuer and Dispatcher is fine) shares the series.
	for _, c := range []**prometheus.CounterVec{&m.queued, &m.sent, &m.failed, &m.skipped, &m.retries, &m.rateLimited} {
		if *c, err = register(reg, *c); err != nil {
			return nil, err
		}
	}
	if m.sendLatency, err = register(reg, m.sendLatency); err != nil {
		return nil, err
	}
	if m.queueDepth, err = register(reg, m.queueDepth); err != nil {
		return nil, err
	}
	if m.oldestPending, err = register(reg, m.oldestPending); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("bots: register metrics: %w", err)
	}
	return c, nil
}

func (m *Metrics) addQueued(platform, kind string, n int64) {
	if m != nil && n > 0 {
		m.queued.WithLabelValues(platform, kind).Add(float64(n))
	}
}

func (m *Metrics) incSent(platform, kind string) {
	if m != nil {
		m.sent.WithLabelValues(platform, kind).Inc()
	}
}

func (m *Metrics) incFailed(platform, kind, cause string) {
	if m != nil {
		m.failed.WithLabelValues(platform, kind, cause).Inc()
	}
}

func (m *Metrics) incSkipped(platform, kind, cause string) {
	if m != nil {
		m.skipped.WithLabelValues(platform, kind, cause).Inc()
	}
}

func (m *Metrics) incRetry(platform string, rateLimited bool) {
	if m == nil {
		return
	}
	m.retries.WithLabelValues(platform).Inc()
	if rateLimited {
		m.rateLimited.WithLabelValues(platform).Inc()
	}
}

func (m *Metrics) observeSend(platform string, d time.Duration) {
	if m != nil {
		m.sendLatency.WithLabelValues(platform).Observe(d.Seconds())
	}
}

func (m *Metrics) setBacklog(platform string, depth int64, oldest time.Duration) {
	if m != nil {
		m.queueDepth.WithLabelValues(platform).Set(float64(depth))
		m.oldestPending.WithLabelValues(platform).Set(oldest.Seconds())
	}
}
