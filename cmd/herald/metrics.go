package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldnews/herald/store"
)

// statsCollector exposes what `herald stats` shows on /metrics, read from the database at scrape time,
// so the figures survive restarts and agree with the CLI.
type statsCollector struct {
	st     *store.Store
	logger *slog.Logger
	descs  map[string]*prometheus.Desc
}

func newStatsCollector(st *store.Store, logger *slog.Logger) *statsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("herald_"+name, help, labels, nil)
	}
	return &statsCollector{st: st, logger: logger, descs: map[string]*prometheus.Desc{
		"stories":       d("stories", "Stories stored."),
		"no_text":       d("stories_without_text", "Stories whose full text could not be extracted."),
		"feeds":         d("feeds", "Feeds by state.", "state"),
		"subs":          d("subscriptions", "Subscriptions stored."),
		"entitled":      d("subscriptions_entitled", "Subscriptions entitled to full text now."),
		"links":         d("links", "Linked chat accounts by state.", "state"),
		"channels":      d("channels_unreachable", "Configured channels the bot cannot post to."),
		"deliveries":    d("deliveries", "Deliveries in the outbox by platform and state.", "platform", "state"),
		"tokens":        d("summary_tokens_total", "Model tokens spent on summaries (cached summaries count once).", "kind"),
		"summaries":     d("summaries_cached", "Summaries in the cache."),
		"oldest_queued": d("oldest_unfinished_delivery_seconds", "Age of the oldest pending or in-flight delivery."),
	}}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.st.Stats(ctx)
	if err != nil {
		c.logger.Warn("metrics: reading stats", "err", err)
		return
	}
	g := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v, labels...)
	}
	g("stories", float64(s.Stories))
	g("no_text", float64(s.StoriesNoText))
	g("feeds", float64(s.Feeds-s.FeedsFailing-s.FeedsDisabled), "ok")
	g("feeds", float64(s.FeedsFailing), "failing")
	g("feeds", float64(s.FeedsDisabled), "disabled")
	g("subs", float64(s.Subscriptions))
	g("entitled", float64(s.SubscriptionsEntitled))
	g("links", float64(s.Links-s.LinksUnreachable), "reachable")
	g("links", float64(s.LinksUnreachable), "unreachable")
	g("links", float64(s.LinksPaused), "paused")
	g("channels", float64(s.ChannelsUnreachable))
	g("summaries", float64(s.SummariesCached))
	g("oldest_queued", float64(s.OldestPendingMS)/1000)
	for p, states := range s.Deliveries {
		for state, n := range states {
			g("deliveries", float64(n), p, state)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.descs["tokens"], prometheus.CounterValue, float64(s.SummaryPromptTokens), "prompt")
	ch <- prometheus.MustNewConstMetric(c.descs["tokens"], prometheus.CounterValue, float64(s.SummaryCompletionTokens), "completion")
}
