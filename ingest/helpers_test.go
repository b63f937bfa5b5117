package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldnews/herald/store"
	"github.com/heraldnews/herald/summarize"
)

// fakeSummarizer summarizes by title and counts calls.
type fakeSummarizer struct {
	mu     sync.Mutex
	titles []string
}

func (f *fakeSummarizer) Summarize(_ context.Context, a summarize.Article) (summarize.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.titles = append(f.titles, a.Title)
	return summarize.Summary{Text: "In short: " + a.Title, Summarizer: "fake"}, nil
}

func (f *fakeSummarizer) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.titles)
}

// fakeQueuer records queued stories.
type fakeQueuer struct {
	mu      sync.Mutex
	stories []store.Story
}

func (q *fakeQueuer) Queue(_ context.Context, s store.Story) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stories = append(q.stories, s)
	return nil
}

func (q *fakeQueuer) titles() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, s := range q.stories {
		out = append(out, s.Title)
	}
	return out
}

// clock is a test clock the store and poller share.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	st   *store.Store
	clk  *clock
	sum  *fakeSummarizer
	q    *fakeQueuer
	pipe *Pipeline
}

func newEnv(tb testing.TB, httpOpts HTTPOptions) *env {
	tb.Helper()
	st, err := store.Open(filepath.Join(tb.TempDir(), "herald.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	st.Now = clk.Now
	e := &env{st: st, clk: clk, sum: &fakeSummarizer{}, q: &fakeQueuer{}}
	e.pipe = NewPipeline(st, e.sum, e.q, PipelineOptions{HTTP: httpOpts, Logger: discardLogger()})
	return e
}

func (e *env) poller(tb testing.TB, cfg Config) *Poller {
	tb.Helper()
	p, err := NewPoller(e.st, e.pipe, cfg, discardLogger())
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func (e *env) pollOnce(tb testing.TB, p *Poller) PollReport {
	tb.Helper()
	rep, err := p.PollOnce(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

func (e *env) feed(tb testing.TB, configURL string) store.Feed {
	tb.Helper()
	feeds, err := e.st.ListFeeds(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range feeds {
		if f.ConfigURL == configURL {
			return f
		}
	}
	tb.Fatalf("no feed %s", configURL)
	return store.Feed{}
}

func (e *env) stories(tb testing.TB) []store.Story {
	tb.Helper()
	out, err := e.st.LatestStories(context.Background(), 1000)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// site is an httptest publisher: handlers by path, request counts and the last request headers.
type site struct {
	srv      *httptest.Server
	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	hits     map[string]int
	last     map[string]http.Header
}

func newSite(tb testing.TB) *site {
	s := &site{handlers: map[string]http.HandlerFunc{}, hits: map[string]int{}, last: map[string]http.Header{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.last[r.URL.Path] = r.Header.Clone()
		h := s.handlers[r.URL.Path]
		s.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *site) url(path string) string { return s.srv.URL + path }

func (s *site) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	s.handlers[path] = h
	s.mu.Unlock()
}

func (s *site) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *site) header(path, key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[path].Get(key)
}

// testdata reads a testdata file with {{BASE}} replaced by the site's URL.
func (s *site) testdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("{{BASE}}"), []byte(s.srv.URL))
}

// serve answers path with body, honouring If-None-Match against etag and gzip when asked.
func (s *site) serve(path, contentType string, body func() []byte, etag string) {
	s.handle(path, func(w http.ResponseWriter, r *http.Request) {
		if etag != "" {
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
		}
		w.Header().Set("Content-Type", contentType)
		b := body()
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(b)
			zw.Close()
			return
		}
		w.Write(b)
	})
}

// rssFeed writes a minimal RSS 2.0 feed; each item is title, guid, link, content.
func rssFeed(items ...[4]string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title><link>https://news.example/</link>`)
	for i, it := range items {
		date := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(len(items)-i) * time.Hour).Format(time.RFC1123Z)
		b.WriteString("<item><title>" + it[0] + "</title>")
		if it[1] != "" {
			b.WriteString("<guid isPermaLink=\"false\">" + it[1] + "</guid>")
		}
		b.WriteString("<link>" + it[2] + "</link><pubDate>" + date + "</pubDate><content:encoded><![CDATA[" + it[3] + "]]></content:encoded></item>")
	}
	b.WriteString("</channel></rss>")
	return []byte(b.String())
}

// longStory is article HTML long enough not to count as an excerpt.
func longStory(topic string) string {
	var b strings.Builder
	for i := 0; i < 5; i++ {
		b.WriteString("<p>Paragraph " + string(rune('A'+i)) + " of the report about " + topic +
			" explains in plain words what happened, who was involved, and what the town council plans to do about it next month.</p>")
	}
	return b.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
