package ingest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldnews/herald/store"
)

// TestPollPublisherFeeds polls feeds in the shapes WordPress, Ghost, Substack, Atom and JSON Feed publishers produce.
func TestPollPublisherFeeds(t *testing.T) {
	tests := []struct {
		file, path, ctype string
		backfill          int
		// want per story, newest first
		titles, bylines []string
		image           string // substring of the newest story's image URL
		textHas         []string
		textHasNot      []string
		url             string // newest story's canonical URL path
	}{
		{
			file: "wordpress.rss", path: "/wp/feed/", ctype: "application/rss+xml; charset=UTF-8", backfill: 2,
			titles:     []string{"Council approves new footbridge over the Mill River", "Library extends weekend opening hours"},
			bylines:    []string{"Maria Okafor", "Tomás Reyes"},
			image:      "bridge.jpg",
			textHas:    []string{"ending a debate that has run for almost a decade", "What residents said", "Width: 3.5 metres", "second engineering review"},
			textHasNot: []string{"utm_"},
			url:        "/wp/2025/03/01/council-approves-footbridge/",
		},
		{
			file: "ghost.rss", path: "/ghost/rss/", ctype: "application/rss+xml", backfill: 2,
			titles:  []string{"Wind farm plan goes to public inquiry", "Rail line reopening delayed to 2027"},
			bylines: []string{"Hannah Kowalski", "Hannah Kowalski"},
			image:   "moor.jpg",
			textHas: []string{"sending the plan to a public inquiry", "What happens next", "hill farms in business"},
			url:     "/ghost/wind-farm-inquiry/",
		},
		{
			file: "substack.rss", path: "/substack/feed", ctype: "application/xml", backfill: 1,
			titles:  []string{"Why the high street bank left"},
			bylines: []string{"Sam Whitfield"},
			image:   "bank.jpeg",
			textHas: []string{"It lost the only building on the street", "Banking hubs opened: 3", "weekday mornings back"},
			url:     "/substack/p/why-the-bank-left",
		},
		{
			file: "atom.xml", path: "/atom/feed.xml", ctype: "application/atom+xml", backfill: 1,
			titles:  []string{"Rare orchid found on the old quarry floor"},
			bylines: []string{"Dr. Leila Haddad"},
			textHas: []string{"fly orchids", "annual meeting in May"},
			url:     "/atom/2025/03/orchid-quarry.html",
		},
		{
			file: "feed.json", path: "/json/feed.json", ctype: "application/feed+json", backfill: 1,
			titles:     []string{"Seawall repairs finish ahead of spring tides"},
			bylines:    []string{"Owen Price"},
			image:      "seawall.jpg",
			textHas:    []string{"two weeks ahead of schedule", "temporary flood barriers"},
			textHasNot: []string{"utm_", "#top"},
			url:        "/json/2025/03/01/seawall",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := newEnv(t, HTTPOptions{})
			s := newSite(t)
			body := s.testdata(t, tt.file)
			s.serve(tt.path, tt.ctype, func() []byte { return body }, "")
			p := e.poller(t, Config{Feeds: []FeedConfig{{URL: s.url(tt.path), Name: tt.file, Backfill: tt.backfill}}})
			rep := e.pollOnce(t, p)
			if rep.Failed != 0 {
				t.Fatalf("report %+v; feed: %+v", rep, e.feed(t, s.url(tt.path)))
			}
			got := e.stories(t)
			if len(got) != len(tt.titles) {
				t.Fatalf("%d stories, want %d", len(got), len(tt.titles))
			}
			for i, st := range got {
				if st.Title != tt.titles[i] || st.Byline != tt.bylines[i] {
					t.Errorf("story %d = %q by %q, want %q by %q", i, st.Title, st.Byline, tt.titles[i], tt.bylines[i])
				}
				if !st.HasFullText() || st.Summary == "" || st.QueuedAt.IsZero() && len(e.q.titles()) != len(tt.titles) {
					t.Errorf("story %d: full text %v, summary %q, extract error %q", i, st.HasFullText(), st.Summary, st.ExtractError)
				}
				if st.PublishedAt.IsZero() || st.FeedID == 0 || !strings.HasPrefix(st.Origin, "feed:") {
					t.Errorf("story %d metadata: %+v", i, st)
				}
			}
			newest := got[0]
			if tt.image != "" && !strings.Contains(newest.ImageURL, tt.image) {
				t.Errorf("image = %q, want it to contain %q", newest.ImageURL, tt.image)
			}
			if newest.URL != s.url(tt.url) {
				t.Errorf("url = %q, want %q", newest.URL, s.url(tt.url))
			}
			for _, w := range tt.textHas {
				if !strings.Contains(newest.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, newest.Text)
				}
			}
			for _, w := range tt.textHasNot {
				if strings.Contains(newest.Text+newest.URL, w) {
					t.Errorf("text or url has %q", w)
				}
			}
			if n := len(e.q.titles()); n != len(tt.titles) {
				t.Errorf("queued %d, want %d", n, len(tt.titles))
			}
			if s.count(tt.path) != 1 {
				t.Errorf("feed fetched %d times", s.count(tt.path))
			}
			if ua := s.header(tt.path, "User-Agent"); !strings.Contains(ua, "Herald") {
				t.Errorf("User-Agent = %q", ua)
			}
			if ae := s.header(tt.path, "Accept-Encoding"); !strings.Contains(ae, "gzip") {
				t.Errorf("Accept-Encoding = %q: the feed was not served gzipped", ae)
			}
		})
	}
}

// TestPollExcerptFeedFetchesArticle covers a summary-only feed: the article page is
// fetched with the feed's headers and extracted; when that fails the story keeps the excerpt.
func TestPollExcerptFeedFetchesArticle(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	feed := s.testdata(t, "wordpress-excerpt.rss")
	page := s.testdata(t, "article.html")
	s.serve("/members/feed", "application/rss+xml", func() []byte { return feed }, "")
	var pageOK atomic.Bool
	pageOK.Store(true)
	const articlePath = "/members/2025/02/28/ferry-winter-timetable/"
	s.handle(articlePath, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cookie") != "session=members-only" || !pageOK.Load() {
			http.Error(w, "subscribers only", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	cfg := Config{Feeds: []FeedConfig{{URL: s.url("/members/feed"), Backfill: 1, Name: "members", Headers: map[string]string{"Cookie": "session=members-only"}}}}
	e.pollOnce(t, e.poller(t, cfg))
	got := e.stories(t)
	if len(got) != 1 {
		t.Fatalf("%d stories", len(got))
	}
	st := got[0]
	if !st.HasFullText() || !strings.Contains(st.Text, "forty-minute drive around the estuary") || !strings.Contains(st.Text, "check the operator's website") {
		t.Fatalf("full text not extracted from the page (err %q):\n%s", st.ExtractError, st.Text)
	}
	for _, junk := range []string{"Most read", "All rights reserved", "Subscribe"} {
		if strings.Contains(st.Text, junk) {
			t.Errorf("text has page chrome %q", junk)
		}
	}
	if !strings.HasPrefix(st.Excerpt, "The harbour ferry will keep running") || st.Summary == "" {
		t.Errorf("excerpt %q, summary %q", st.Excerpt, st.Summary)
	}

	// The same feed shape when the page is refused: excerpt kept, no text, no summary, still queued for its channel post.
	e2 := newEnv(t, HTTPOptions{})
	pageOK.Store(false)
	e2.pollOnce(t, e2.poller(t, cfg))
	st = e2.stories(t)[0]
	if st.HasFullText() || st.ExtractError == "" || st.Summary != "" || !strings.Contains(st.ExtractError, "403") {
		t.Fatalf("refused page: full text %v, error %q, summary %q", st.HasFullText(), st.ExtractError, st.Summary)
	}
	if !strings.Contains(st.Excerpt, "four crossings a day") || e2.sum.calls() != 0 || len(e2.q.titles()) != 1 {
		t.Fatalf("excerpt %q, summaries %d, queued %d", st.Excerpt, e2.sum.calls(), len(e2.q.titles()))
	}
	stats, err := e2.st.Stats(context.Background())
	if err != nil || stats.StoriesNoText != 1 {
		t.Fatalf("stats.StoriesNoText = %d, %v", stats.StoriesNoText, err)
	}
}

func TestConditionalGet(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	var lastModHits atomic.Int32
	body := rssFeed([4]string{"One", "g1", "https://news.example/one", longStory("one")})
	s.serve("/etag", "application/rss+xml", func() []byte { return body }, `W/"v1"`)
	const lm = "Sat, 01 Mar 2025 10:00:00 GMT"
	s.handle("/lastmod", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Modified-Since") == lm {
			lastModHits.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Last-Modified", lm)
		w.Write(rssFeed([4]string{"Two", "g2", "https://news.example/two", longStory("two")}))
	})
	p := e.poller(t, Config{DefaultInterval: time.Minute, Feeds: []FeedConfig{{URL: s.url("/etag"), Backfill: 1}, {URL: s.url("/lastmod"), Backfill: 1}}})
	rep := e.pollOnce(t, p)
	if rep.Polled != 2 || rep.New != 2 || rep.NotModified != 0 {
		t.Fatalf("first poll %+v", rep)
	}
	if f := e.feed(t, s.url("/etag")); f.ETag != `W/"v1"` {
		t.Fatalf("etag stored %q", f.ETag)
	}
	if f := e.feed(t, s.url("/lastmod")); f.LastModified != lm {
		t.Fatalf("last-modified stored %q", f.LastModified)
	}
	// Not due yet: nothing fetched.
	if rep := e.pollOnce(t, p); rep.Polled != 0 {
		t.Fatalf("polled before due: %+v", rep)
	}
	e.clk.Advance(time.Minute)
	rep = e.pollOnce(t, p)
	if rep.Polled != 2 || rep.NotModified != 2 || rep.New != 0 {
		t.Fatalf("second poll %+v", rep)
	}
	if got := s.header("/etag", "If-None-Match"); got != `W/"v1"` {
		t.Fatalf("If-None-Match sent %q", got)
	}
	if lastModHits.Load() != 1 {
		t.Fatalf("If-Modified-Since not honoured")
	}
	f := e.feed(t, s.url("/etag"))
	if f.ETag != `W/"v1"` || f.Failures != 0 || !f.NextPollAt.Equal(e.clk.Now().Add(time.Minute)) {
		t.Fatalf("after 304: %+v", f)
	}
	if e.sum.calls() != 2 || len(e.q.titles()) != 2 {
		t.Fatalf("304 caused work: %d summaries, %d queued", e.sum.calls(), len(e.q.titles()))
	}
}

func TestRedirects(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	body := rssFeed([4]string{"One", "g1", "https://news.example/one", longStory("one")})
	s.serve("/new", "application/rss+xml", func() []byte { return body }, "")
	s.serve("/temp-target", "application/rss+xml", func() []byte { return body }, "")
	s.handle("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/older", http.StatusMovedPermanently)
	})
	s.handle("/older", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusPermanentRedirect)
	})
	s.handle("/temp", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/temp-target", http.StatusFound) })
	p := e.poller(t, Config{DefaultInterval: time.Minute, Feeds: []FeedConfig{{URL: s.url("/old"), Backfill: 1}, {URL: s.url("/temp"), Backfill: 1}}})
	e.pollOnce(t, p)
	if f := e.feed(t, s.url("/old")); f.URL != s.url("/new") {
		t.Fatalf("permanent redirects: url = %q, want %q", f.URL, s.url("/new"))
	}
	if f := e.feed(t, s.url("/temp")); f.URL != s.url("/temp") {
		t.Fatalf("302 changed the url to %q", f.URL)
	}
	e.clk.Advance(time.Minute)
	e.pollOnce(t, p)
	if s.count("/old") != 1 || s.count("/new") != 2 || s.count("/temp") != 2 {
		t.Fatalf("hits old=%d new=%d temp=%d", s.count("/old"), s.count("/new"), s.count("/temp"))
	}
	if n := len(e.stories(t)); n != 1 {
		t.Fatalf("%d stories, want the one shared story", n)
	}
}

func TestPollFailures(t *testing.T) {
	big := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>`))
		chunk := []byte("<item><title>" + strings.Repeat("x", 1000) + "</title></item>")
		for n := 0; n <= DefaultMaxBodyBytes; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", 500) }, "HTTP 500"},
		{"404", http.NotFound, "HTTP 404"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "timed out"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><item><title>broken</ti`))
		}, "parse feed"},
		{"not a feed", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<!DOCTYPE html><html><body><p>Hello</p></body></html>"))
		}, "not an RSS, Atom or JSON feed"},
		{"too large", big, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, HTTPOptions{})
			s := newSite(t)
			s.handle("/bad", tt.handler)
			timeout := 10 * time.Second
			if tt.name == "timeout" {
				timeout = 200 * time.Millisecond
			}
			p := e.poller(t, Config{DefaultInterval: time.Minute, HTTP: HTTPOptions{Timeout: timeout},
				Feeds: []FeedConfig{{URL: s.url("/bad"), Name: "bad"}}})
			rep := e.pollOnce(t, p)
			f := e.feed(t, s.url("/bad"))
			if rep.Failed != 1 || f.Failures != 1 || !strings.Contains(f.LastError, tt.want) {
				t.Fatalf("report %+v, feed failures %d error %q; want error containing %q", rep, f.Failures, f.LastError, tt.want)
			}
			if !f.NextPollAt.After(e.clk.Now()) || !f.NeverPolled() {
				t.Fatalf("next poll %v, last success %v", f.NextPollAt, f.LastSuccessAt)
			}
		})
	}
}

func TestBackoffAndDisable(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	s.handle("/bad", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	p := e.poller(t, Config{DefaultInterval: time.Minute, DisableAfter: 4, MaxBackoff: 5 * time.Minute,
		Feeds: []FeedConfig{{URL: s.url("/bad"), Name: "bad"}}})
	var delays []time.Duration
	for i := 0; i < 4; i++ {
		rep := e.pollOnce(t, p)
		if rep.Polled != 1 {
			t.Fatalf("poll %d: %+v", i, rep)
		}
		f := e.feed(t, s.url("/bad"))
		delays = append(delays, f.NextPollAt.Sub(e.clk.Now()))
		e.clk.Advance(time.Hour)
	}
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if delays[i] < want || delays[i] > want+want/10 {
			t.Errorf("delay after failure %d = %v, want %v plus up to 10%% jitter", i+1, delays[i], want)
		}
	}
	f := e.feed(t, s.url("/bad"))
	if !f.Disabled() || !strings.Contains(f.DisabledReason, "4 consecutive failures") || !strings.Contains(f.DisabledReason, "HTTP 502") {
		t.Fatalf("not disabled: %+v", f)
	}
	if rep := e.pollOnce(t, p); rep.Polled != 0 || s.count("/bad") != 4 {
		t.Fatalf("disabled feed polled: %+v, %d hits", rep, s.count("/bad"))
	}
	st, err := e.st.Stats(context.Background())
	if err != nil || st.FeedsDisabled != 1 || len(st.FailingFeeds) != 1 || !st.FailingFeeds[0].Disabled {
		t.Fatalf("stats %+v, %v", st, err)
	}
	if err := e.st.EnableFeed(context.Background(), f.ID); err != nil {
		t.Fatal(err)
	}
	if rep := e.pollOnce(t, p); rep.Polled != 1 {
		t.Fatalf("re-enabled feed not polled: %+v", rep)
	}
}

func TestFirstPollBackfill(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	items := [][4]string{}
	for _, n := range []string{"five", "four", "three", "two", "one"} { // newest first, as feeds list them
		items = append(items, [4]string{"Story " + n, "g-" + n, "https://news.example/" + n, longStory(n)})
	}
	var cur atomic.Value
	cur.Store(rssFeed(items...))
	s.serve("/feed", "application/rss+xml", func() []byte { return cur.Load().([]byte) }, "")
	p := e.poller(t, Config{DefaultInterval: time.Minute, Feeds: []FeedConfig{{URL: s.url("/feed"), Backfill: 2}}})
	rep := e.pollOnce(t, p)
	if rep.New != 5 || rep.Queued != 2 {
		t.Fatalf("first poll %+v", rep)
	}
	if got := strings.Join(e.q.titles(), ","); got != "Story four,Story five" {
		t.Fatalf("queued %q, want the two newest oldest-first", got)
	}
	if e.sum.calls() != 2 {
		t.Fatalf("%d summaries, want only the queued two", e.sum.calls())
	}
	// A new item on the next poll is queued; the silent backlog stays silent.
	cur.Store(rssFeed(append([][4]string{{"Story six", "g-six", "https://news.example/six", longStory("six")}}, items...)...))
	e.clk.Advance(time.Minute)
	rep = e.pollOnce(t, p)
	if rep.New != 1 || rep.Queued != 1 || len(e.q.titles()) != 3 {
		t.Fatalf("second poll %+v, queued %v", rep, e.q.titles())
	}

	// Backfill 0 queues nothing on the first poll.
	e2 := newEnv(t, HTTPOptions{})
	rep = e2.pollOnce(t, e2.poller(t, Config{Feeds: []FeedConfig{{URL: s.url("/feed"), Backfill: 0}}}))
	if rep.New != 6 || rep.Queued != 0 {
		t.Fatalf("backfill 0: %+v", rep)
	}
}

func TestChangedItemAndChangingGUIDs(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	var cur atomic.Value
	cur.Store(rssFeed([4]string{"Bridge vote", "guid-1", "https://news.example/bridge", longStory("the bridge")}))
	s.serve("/feed", "application/rss+xml", func() []byte { return cur.Load().([]byte) }, "")
	p := e.poller(t, Config{DefaultInterval: time.Minute, Feeds: []FeedConfig{{URL: s.url("/feed"), Backfill: 1}}})
	e.pollOnce(t, p)
	first := e.stories(t)[0]

	// Same GUID, corrected title and text: updated in place, not re-queued or re-summarized.
	cur.Store(rssFeed([4]string{"Bridge vote (corrected)", "guid-1", "https://news.example/bridge", longStory("the corrected bridge")}))
	e.clk.Advance(time.Minute)
	e.pollOnce(t, p)
	got := e.stories(t)
	if len(got) != 1 || got[0].ID != first.ID || got[0].Title != "Bridge vote (corrected)" || !strings.Contains(got[0].Text, "corrected bridge") {
		t.Fatalf("changed item: %+v", got)
	}
	if got[0].Summary != first.Summary || len(e.q.titles()) != 1 || e.sum.calls() != 1 {
		t.Fatalf("changed item re-posted: queued %v, summaries %d", e.q.titles(), e.sum.calls())
	}

	// The feed re-issues the item under a new GUID (some CMSs do on every edit): still one story.
	cur.Store(rssFeed([4]string{"Bridge vote (corrected)", "guid-2", "https://news.example/bridge#comments", longStory("the corrected bridge")}))
	e.clk.Advance(time.Minute)
	e.pollOnce(t, p)
	if got := e.stories(t); len(got) != 1 || len(e.q.titles()) != 1 {
		t.Fatalf("new GUID made %d stories, %d queued", len(got), len(e.q.titles()))
	}
	// And an item with no GUID is identified by its canonical link.
	cur.Store(rssFeed([4]string{"Other", "", "https://news.example/other?utm_source=rss", longStory("other")}))
	e.clk.Advance(time.Minute)
	e.pollOnce(t, p)
	st, err := e.st.StoryRefByURL(context.Background(), "https://news.example/other")
	if err != nil || st.GUID != "https://news.example/other" {
		t.Fatalf("guid-less item: %+v, %v", st, err)
	}
}

func TestSameStoryInTwoFeeds(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	a := rssFeed([4]string{"Shared story", "a-1", "https://news.example/shared", longStory("shared")})
	b := rssFeed([4]string{"Shared story", "b-77", "https://NEWS.example/shared?utm_source=twitter&utm_medium=social#top", longStory("shared, as feed B tells it")})
	s.serve("/a", "application/rss+xml", func() []byte { return a }, "")
	s.serve("/b", "application/rss+xml", func() []byte { return b }, "")
	p := e.poller(t, Config{Concurrency: 1, Feeds: []FeedConfig{{URL: s.url("/a"), Backfill: 1}, {URL: s.url("/b"), Backfill: 1}}})
	rep := e.pollOnce(t, p)
	if rep.New != 1 || rep.Queued != 1 || len(e.stories(t)) != 1 {
		t.Fatalf("%+v, %d stories", rep, len(e.stories(t)))
	}
	// A CMS push of the same URL is recognized too.
	id, created, queued, err := e.pipe.Push(context.Background(), Input{GUID: "cms-1", URL: "https://news.example/shared", Title: "Shared story", HTML: longStory("shared")})
	if err != nil || created || queued || id != e.stories(t)[0].ID {
		t.Fatalf("push of known url: id %d created %v queued %v err %v", id, created, queued, err)
	}
}

// TestBrokenFeedDoesNotDelayOthers runs the poller loop with one feed that never answers:
// the healthy feed keeps being polled on its interval meanwhile.
func TestBrokenFeedDoesNotDelayOthers(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	e.st.Now = time.Now // the loop sleeps in real time
	s := newSite(t)
	release := make(chan struct{})
	s.handle("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	good := rssFeed([4]string{"Good", "g", "https://news.example/good", longStory("good")})
	s.serve("/good", "application/rss+xml", func() []byte { return good }, `"g"`)
	p := e.poller(t, Config{Concurrency: 2, HTTP: HTTPOptions{Timeout: time.Minute},
		Feeds: []FeedConfig{{URL: s.url("/hang"), Interval: 20 * time.Millisecond}, {URL: s.url("/good"), Interval: 20 * time.Millisecond}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.After(20 * time.Second)
	for s.count("/good") < 3 {
		select {
		case <-deadline:
			t.Fatalf("healthy feed polled %d times while the broken one hung", s.count("/good"))
		case <-time.After(10 * time.Millisecond):
		}
	}
	if s.count("/hang") != 1 {
		t.Fatalf("hanging feed requested %d times, want 1 (still in flight)", s.count("/hang"))
	}
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f := e.feed(t, s.url("/hang")); f.Failures != 0 {
		t.Fatalf("shutdown counted as a feed failure: %+v", f)
	}
}

func TestNewPollerValidates(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Feeds: []FeedConfig{{URL: "ftp://x.example/feed"}}}, "ingest.feeds[0].url"},
		{Config{Feeds: []FeedConfig{{URL: "https://x.example/a"}, {URL: "https://x.example/a"}}}, "ingest.feeds[1].url"},
		{Config{Feeds: []FeedConfig{{URL: "https://x.example/a", DropPatterns: []string{"ok", "("}}}}, "ingest.feeds[0].drop_patterns[1]"},
		{Config{Feeds: []FeedConfig{{URL: "https://x.example/a", Backfill: -1}}}, "ingest.feeds[0].backfill"},
	}
	for _, tt := range tests {
		_, err := NewPoller(e.st, e.pipe, tt.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewPoller(%+v) = %v, want error naming %s", tt.cfg, err, tt.want)
		}
	}
}

func TestDropPatterns(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	body := rssFeed([4]string{"Dropped", "d", "https://news.example/d", longStory("drops") + "<p>Sponsored by Acme Widgets Ltd.</p>"})
	s.serve("/feed", "application/rss+xml", func() []byte { return body }, "")
	e.pollOnce(t, e.poller(t, Config{Feeds: []FeedConfig{{URL: s.url("/feed"), DropPatterns: []string{`^Sponsored by .*$`}}}}))
	st := e.stories(t)[0]
	if strings.Contains(st.Text, "Acme") || !strings.Contains(st.Text, "Paragraph E") {
		t.Fatalf("drop pattern not applied:\n%s", st.Text)
	}
}

func TestCanonicalURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://News.Example/a/b?utm_source=x&id=3&UTM_Medium=y#frag", "https://news.example/a/b?id=3"},
		{"http://news.example", "http://news.example/"},
		{"https://news.example/a?b=1&a=2", "https://news.example/a?b=1&a=2"},
		{"/relative", ""},
		{"mailto:x@example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := CanonicalURL(tt.in); got != tt.want {
			t.Errorf("CanonicalURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLooksLikeExcerpt(t *testing.T) {
	long := strings.Repeat("A full sentence of the story. ", 40)
	tests := []struct {
		text string
		want bool
	}{
		{"Short teaser.", true},
		{long, false},
		{long + "\n\nThe harbour ferry will keep running […]", true},
		{long + " Continue reading", true},
		{long + "\n\nRead more »", true},
	}
	for _, tt := range tests {
		if got := looksLikeExcerpt(tt.text); got != tt.want {
			t.Errorf("looksLikeExcerpt(…%q) = %v, want %v", tt.text[max(0, len(tt.text)-40):], got, tt.want)
		}
	}
}

func TestProcessRequiresIdentity(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	if _, _, err := e.pipe.Process(context.Background(), Input{Origin: "push", Title: "x", Text: "y"}, true); err == nil {
		t.Fatal("input without guid accepted")
	}
	_, res, err := e.pipe.Process(context.Background(), Input{Origin: "push", GUID: "g", Title: "x", Text: "Hello there."}, true)
	if err != nil || res != store.StoryCreated {
		t.Fatalf("process = %v, %v", res, err)
	}
	_, res, err = e.pipe.Process(context.Background(), Input{Origin: "push", GUID: "g", Title: "x", Text: "Hello there."}, true)
	if err != nil || res != store.StoryUnchanged || len(e.q.titles()) != 1 {
		t.Fatalf("second process = %v, %v, queued %d", res, err, len(e.q.titles()))
	}
	if _, err := e.pipe.Prepare(context.Background(), Input{}); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("prepare of empty input: %v", err)
	}
}

// PollAll (serve --once) polls healthy feeds before their interval, conditionally, and
// leaves failing feeds to their backoff and disabled feeds alone.
func TestPollAll(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	body := rssFeed([4]string{"One", "g1", "https://news.example/one", longStory("one")})
	s.serve("/ok", "application/rss+xml", func() []byte { return body }, `"v1"`)
	s.handle("/broken", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	p := e.poller(t, Config{DefaultInterval: time.Hour, Feeds: []FeedConfig{{URL: s.url("/ok"), Backfill: 1}, {URL: s.url("/broken"), Backfill: 1}}})
	rep, err := p.PollAll(context.Background())
	if err != nil || rep.Polled != 2 || rep.New != 1 || rep.Failed != 1 {
		t.Fatalf("first PollAll: %+v, %v", rep, err)
	}
	// A minute later nothing is due, yet a one-shot run polls the healthy feed (304, no parse).
	e.clk.Advance(time.Minute)
	if rep := e.pollOnce(t, p); rep.Polled != 0 {
		t.Fatalf("PollOnce polled before due: %+v", rep)
	}
	rep, err = p.PollAll(context.Background())
	if err != nil || rep.Polled != 1 || rep.NotModified != 1 || rep.New != 0 || rep.Failed != 0 {
		t.Fatalf("second PollAll: %+v, %v", rep, err)
	}
	if got := s.header("/ok", "If-None-Match"); got != `"v1"` {
		t.Errorf("If-None-Match = %q", got)
	}
	if s.count("/broken") != 1 {
		t.Errorf("a failing feed was polled during its backoff: %d requests", s.count("/broken"))
	}
	if e.sum.calls() != 1 || len(e.q.titles()) != 1 {
		t.Errorf("a 304 caused work: %d summaries, %d queued", e.sum.calls(), len(e.q.titles()))
	}
	// Past the backoff the failing feed is tried again.
	e.clk.Advance(3 * time.Hour)
	if rep, err := p.PollAll(context.Background()); err != nil || rep.Polled != 2 || rep.Failed != 1 {
		t.Fatalf("PollAll after backoff: %+v, %v", rep, err)
	}
}
