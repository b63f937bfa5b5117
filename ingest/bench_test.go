package ingest

import (
	"fmt"
	"testing"
	"time"
)

// benchFeeds serves n feeds of perFeed distinct items each and returns their configs.
func benchFeeds(b *testing.B, s *site, n, perFeed int, etag bool) []FeedConfig {
	var cfgs []FeedConfig
	for f := 0; f < n; f++ {
		items := make([][4]string, perFeed)
		for i := range items {
			id := fmt.Sprintf("f%d-i%d", f, i)
			items[i] = [4]string{"Story " + id, id, "https://news.example/" + id, longStory(id)}
		}
		body := rssFeed(items...)
		path := fmt.Sprintf("/feed/%d", f)
		tag := ""
		if etag {
			tag = fmt.Sprintf(`"%d"`, f)
		}
		s.serve(path, "application/rss+xml", func() []byte { return body }, tag)
		cfgs = append(cfgs, FeedConfig{URL: s.url(path), Interval: time.Minute, Backfill: 0})
	}
	return cfgs
}

// BenchmarkParseDedupe1000Items polls 20 feeds of 50 known items each (no validators, so
// every poll downloads and parses): the cost of recognizing 1,000 unchanged items.
func BenchmarkParseDedupe1000Items(b *testing.B) {
	e := newEnv(b, HTTPOptions{})
	s := newSite(b)
	p := e.poller(b, Config{Feeds: benchFeeds(b, s, 20, 50, false)})
	if rep := e.pollOnce(b, p); rep.New != 1000 {
		b.Fatalf("setup stored %d stories", rep.New)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.clk.Advance(time.Minute)
		rep := e.pollOnce(b, p)
		if rep.Polled != 20 || rep.New != 0 || rep.Failed != 0 {
			b.Fatalf("poll %+v", rep)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/item")
}

// BenchmarkIngest1000NewItems polls 20 feeds of 50 new items each into an empty database:
// parse, extraction from item HTML, insert (backlog: not summarized or queued).
func BenchmarkIngest1000NewItems(b *testing.B) {
	s := newSite(b)
	cfgs := benchFeeds(b, s, 20, 50, false)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, HTTPOptions{})
		p := e.poller(b, Config{Feeds: cfgs})
		b.StartTimer()
		if rep := e.pollOnce(b, p); rep.New != 1000 {
			b.Fatalf("stored %d stories", rep.New)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/item")
}

// BenchmarkPollCycle500NotModified is one poll cycle of 500 feeds that all answer 304.
func BenchmarkPollCycle500NotModified(b *testing.B) {
	e := newEnv(b, HTTPOptions{})
	s := newSite(b)
	p := e.poller(b, Config{Feeds: benchFeeds(b, s, 500, 1, true)})
	if rep := e.pollOnce(b, p); rep.Polled != 500 || rep.Failed != 0 {
		b.Fatalf("setup %+v", rep)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.clk.Advance(time.Minute)
		rep := e.pollOnce(b, p)
		if rep.NotModified != 500 {
			b.Fatalf("poll %+v", rep)
		}
	}
}
