package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/heraldnews/herald/store"
)

// Poller defaults.
const (
	DefaultInterval     = 15 * time.Minute
	DefaultConcurrency  = 4
	DefaultDisableAfter = 10
	DefaultMaxBackoff   = 6 * time.Hour
)

// feedAccept asks for any of the three feed formats, XML first.
const feedAccept = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, application/json;q=0.8, text/xml;q=0.8, */*;q=0.5"

// FeedConfig is one feed of the [ingest] configuration.
type FeedConfig struct {
	URL  string
	Name string
	// Interval between polls; 0 uses Config.DefaultInterval.
	Interval time.Duration
	// Headers are sent with the feed request and with article-page fetches (final strings, env already expanded).
	Headers map[string]string
	// DropPatterns are regular expressions; a paragraph matching one is removed from the feed's stories.
	DropPatterns []string
	// Backfill is how many of the newest items are queued on the feed's first successful poll
	// (0 queues none; the configuration's default is 1). The rest are stored silently.
	Backfill int
	// FetchFull fetches each new item's article page even when the feed carries content.
	FetchFull bool
}

// Config is the [ingest] configuration.
type Config struct {
	Feeds []FeedConfig
	// Concurrency bounds simultaneous feed polls; 0 uses DefaultConcurrency.
	Concurrency int
	// DisableAfter disables a feed after this many consecutive failures; 0 uses DefaultDisableAfter, negative never disables.
	DisableAfter int
	// DefaultInterval applies to feeds without their own; 0 uses DefaultInterval.
	DefaultInterval time.Duration
	// MaxBackoff caps the delay after repeated failures (never below the feed's interval); 0 uses DefaultMaxBackoff.
	MaxBackoff time.Duration
	// HTTP configures feed fetches (timeouts, body cap, User-Agent).
	HTTP HTTPOptions
}

// feedState is a configured feed with its compiled settings and database id.
type feedState struct {
	cfg  FeedConfig
	drop []*regexp.Regexp
	id   int64
}

// Poller polls the configured feeds into the Pipeline.
type Poller struct {
	store  *store.Store
	pipe   *Pipeline
	fetch  *fetcher
	logger *slog.Logger
	cfg    Config

	feeds  []*feedState
	byID   map[int64]*feedState
	synced bool
	syncMu sync.Mutex

	inflightMu sync.Mutex
	inflight   map[int64]bool
}

// NewPoller validates cfg and builds a poller. It fails naming the feed and key of an invalid setting.
func NewPoller(st *store.Store, pipe *Pipeline, cfg Config, logger *slog.Logger) (*Poller, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.DisableAfter == 0 {
		cfg.DisableAfter = DefaultDisableAfter
	}
	if cfg.DefaultInterval <= 0 {
		cfg.DefaultInterval = DefaultInterval
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	p := &Poller{store: st, pipe: pipe, fetch: newFetcher(cfg.HTTP), logger: logger.With("component", "poller"),
		cfg: cfg, byID: map[int64]*feedState{}, inflight: map[int64]bool{}}
	seen := map[string]bool{}
	for i, fc := range cfg.Feeds {
		fc.URL = strings.TrimSpace(fc.URL)
		if CanonicalURL(fc.URL) == "" {
			return nil, fmt.Errorf("ingest: ingest.feeds[%d].url: %q is not an absolute http(s) URL", i, fc.URL)
		}
		if seen[fc.URL] {
			return nil, fmt.Errorf("ingest: ingest.feeds[%d].url: %s is configured twice", i, redactURL(fc.URL))
		}
		seen[fc.URL] = true
		if fc.Interval <= 0 {
			fc.Interval = cfg.DefaultInterval
		}
		if fc.Backfill < 0 {
			return nil, fmt.Errorf("ingest: ingest.feeds[%d].backfill: must not be negative, got %d", i, fc.Backfill)
		}
		fs := &feedState{cfg: fc}
		for j, pat := range fc.DropPatterns {
			re, err := regexp.Compile(pat)
			if err != nil {
				return nil, fmt.Errorf("ingest: ingest.feeds[%d].drop_patterns[%d]: %w", i, j, err)
			}
			fs.drop = append(fs.drop, re)
		}
		p.feeds = append(p.feeds, fs)
	}
	return p, nil
}

// sync makes sure every configured feed has its database row.
func (p *Poller) sync(ctx context.Context) error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	if p.synced {
		return nil
	}
	for _, fs := range p.feeds {
		f, err := p.store.EnsureFeed(ctx, fs.cfg.URL, fs.cfg.Name)
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		fs.id = f.ID
		p.byID[f.ID] = fs
	}
	p.synced = true
	return nil
}

// PollReport counts what one PollOnce did.
type PollReport struct {
	Polled, NotModified, Failed, Disabled int
	// New counts stories created; Queued those of them queued for delivery.
	New, Queued int
}

// feedResult is the outcome of one feed poll.
type feedResult struct {
	notModified, failed, disabled bool
	created, queued               int
}

// PollOnce polls every configured feed that is due now (all of them on a fresh database),
// with bounded concurrency, and returns when all are done. Feed failures are recorded
// on the feed, not returned; the error is for the database or ctx.
func (p *Poller) PollOnce(ctx context.Context) (PollReport, error) {
	if err := p.sync(ctx); err != nil {
		return PollReport{}, err
	}
	due, err := p.store.DueFeeds(ctx, p.store.Now())
	if err != nil {
		return PollReport{}, fmt.Errorf("ingest: %w", err)
	}
	return p.pollFeeds(ctx, due), ctx.Err()
}

// PollAll is PollOnce for a one-shot run (`herald serve --once`, from cron or by hand):
// every healthy feed is polled now even if its interval has not passed, because the
// operator asked for a cycle; a failing feed still waits out its backoff, and a disabled
// one is skipped. Conditional GET keeps the extra polls cheap.
func (p *Poller) PollAll(ctx context.Context) (PollReport, error) {
	if err := p.sync(ctx); err != nil {
		return PollReport{}, err
	}
	feeds, err := p.store.ListFeeds(ctx)
	if err != nil {
		return PollReport{}, fmt.Errorf("ingest: %w", err)
	}
	now := p.store.Now()
	var todo []store.Feed
	for _, f := range feeds {
		if !f.Disabled() && (f.Failures == 0 || !f.NextPollAt.After(now)) {
			todo = append(todo, f)
		}
	}
	return p.pollFeeds(ctx, todo), ctx.Err()
}

// pollFeeds polls feeds with bounded concurrency and returns when all are done.
func (p *Poller) pollFeeds(ctx context.Context, due []store.Feed) PollReport {
	var rep PollReport
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.cfg.Concurrency)
	for _, f := range due {
		fs := p.byID[f.ID]
		if fs == nil {
			continue // in the database but no longer configured
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			r := p.pollFeed(ctx, fs, f)
			mu.Lock()
			rep.add(r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return rep
}

func (r *PollReport) add(f feedResult) {
	r.Polled++
	r.New += f.created
	r.Queued += f.queued
	if f.notModified {
		r.NotModified++
	}
	if f.failed {
		r.Failed++
	}
	if f.disabled {
		r.Disabled++
	}
}

// Run polls feeds as they come due until ctx ends, then waits for polls in flight.
// Each feed is polled on its own goroutine (bounded by the concurrency setting), so a
// slow or broken feed never holds back the others.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.sync(ctx); err != nil {
		return err
	}
	sem := make(chan struct{}, p.cfg.Concurrency)
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		now := p.store.Now()
		due, err := p.store.DueFeeds(ctx, now)
		if err != nil && ctx.Err() == nil {
			p.logger.Error("listing due feeds", "err", err)
		}
		for _, f := range due {
			fs := p.byID[f.ID]
			if fs == nil || !p.claim(f.ID) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer p.release(f.ID)
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				p.pollFeed(ctx, fs, f)
				<-sem
				select {
				case wake <- struct{}{}:
				default:
				}
			}()
		}
		t := time.NewTimer(p.untilNext(ctx, now))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// untilNext is how long Run may sleep before a feed comes due, between 100ms and 30s.
func (p *Poller) untilNext(ctx context.Context, now time.Time) time.Duration {
	const lo, hi = 100 * time.Millisecond, 30 * time.Second
	feeds, err := p.store.ListFeeds(ctx)
	if err != nil {
		return hi
	}
	d := hi
	for _, f := range feeds {
		if f.Disabled() || p.byID[f.ID] == nil || p.isInflight(f.ID) {
			continue
		}
		if w := f.NextPollAt.Sub(now); w < d {
			d = w
		}
	}
	return max(d, lo)
}

func (p *Poller) claim(id int64) bool {
	p.inflightMu.Lock()
	defer p.inflightMu.Unlock()
	if p.inflight[id] {
		return false
	}
	p.inflight[id] = true
	return true
}

func (p *Poller) release(id int64) {
	p.inflightMu.Lock()
	delete(p.inflight, id)
	p.inflightMu.Unlock()
}

func (p *Poller) isInflight(id int64) bool {
	p.inflightMu.Lock()
	defer p.inflightMu.Unlock()
	return p.inflight[id]
}

// backoff is the delay before retrying a feed after its n-th consecutive failure:
// the interval doubled per failure, capped at MaxBackoff (or the interval if larger), with 10% jitter.
func (p *Poller) backoff(interval time.Duration, n int) time.Duration {
	limit := max(p.cfg.MaxBackoff, interval)
	d := interval
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// pollFeed polls one feed and records the outcome on it.
func (p *Poller) pollFeed(ctx context.Context, fs *feedState, f store.Feed) feedResult {
	log := p.logger.With("feed", fs.cfg.Name, "feed_id", f.ID)
	var res feedResult
	r, created, queued, err := p.fetchAndProcess(ctx, fs, f)
	res.created, res.queued = created, queued
	if ctx.Err() != nil {
		return res // shutting down: not the feed's fault
	}
	now := p.store.Now()
	next := now.Add(fs.cfg.Interval)
	if err != nil {
		res.failed = true
		msg := err.Error()
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		g, rerr := p.store.RecordFeedFailure(ctx, f.ID, msg, now.Add(p.backoff(fs.cfg.Interval, f.Failures+1)), p.cfg.DisableAfter)
		if rerr != nil {
			log.Error("recording feed failure", "err", rerr)
			return res
		}
		if g.Disabled() {
			res.disabled = true
			log.Error("feed disabled", "failures", g.Failures, "reason", g.DisabledReason)
		} else {
			log.Warn("feed poll failed", "failures", g.Failures, "err", msg, "next_poll", g.NextPollAt)
		}
		return res
	}
	if r.status == http.StatusNotModified {
		res.notModified = true
		if r.movedTo != "" {
			err = p.store.RecordFeedSuccess(ctx, f.ID, f.ETag, f.LastModified, r.movedTo, next)
		} else {
			err = p.store.RecordFeedNotModified(ctx, f.ID, next)
		}
	} else {
		err = p.store.RecordFeedSuccess(ctx, f.ID, r.etag, r.lastModified, r.movedTo, next)
	}
	if err != nil {
		log.Error("recording feed success", "err", err)
	}
	if r.movedTo != "" {
		log.Info("feed moved permanently", "to", redactURL(r.movedTo))
	}
	if created > 0 {
		log.Info("feed polled", "new", created, "queued", queued)
	}
	return res
}

// fetchAndProcess fetches, parses and processes one feed; any error leaves the feed's
// validators unchanged so the next poll sees the same items again.
func (p *Poller) fetchAndProcess(ctx context.Context, fs *feedState, f store.Feed) (r response, created, queued int, err error) {
	r, err = p.fetch.get(ctx, request{url: f.URL, accept: feedAccept, headers: fs.cfg.Headers, etag: f.ETag, lastModified: f.LastModified})
	if err != nil || r.status == http.StatusNotModified {
		return r, 0, 0, err
	}
	parsed, err := parseFeed(r.body)
	if err != nil {
		return r, 0, 0, err
	}
	inputs := feedInputs(parsed, r.finalURL, "feed:"+fmt.Sprint(f.ID), f.ID)
	backfill := len(inputs)
	if f.NeverPolled() {
		backfill = fs.cfg.Backfill
	}
	// inputs are newest first; store oldest first so posting order follows publication order.
	for i := len(inputs) - 1; i >= 0; i-- {
		in := inputs[i]
		in.FetchFull, in.Headers, in.DropPatterns = fs.cfg.FetchFull, fs.cfg.Headers, fs.drop
		o, err := p.pipe.process(ctx, in, i < backfill)
		if err != nil {
			return r, created, queued, err
		}
		if o.Result == store.StoryCreated {
			created++
		}
		if o.Queued {
			queued++
		}
	}
	return r, created, queued, nil
}

// parseFeed parses RSS, Atom or JSON Feed bytes.
func parseFeed(b []byte) (*gofeed.Feed, error) {
	parsed, err := gofeed.NewParser().Parse(bytes.NewReader(b))
	if err != nil {
		if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
			return nil, errors.New("ingest: parse feed: not an RSS, Atom or JSON feed")
		}
		return nil, fmt.Errorf("ingest: parse feed: %w", err)
	}
	return parsed, nil
}

// feedInputs turns a parsed feed's items into Inputs, newest first. Items without
// dates keep the feed's order, which publishers write newest first.
func feedInputs(feed *gofeed.Feed, feedURL, origin string, feedID int64) []Input {
	type entry struct {
		in  Input
		pos int
	}
	base := feed.Link
	if CanonicalURL(base) == "" {
		base = feedURL
	}
	entries := make([]entry, 0, len(feed.Items))
	seen := map[string]bool{}
	for i, it := range feed.Items {
		if it == nil {
			continue
		}
		in := itemInput(it, base)
		if in.GUID == "" || seen[in.GUID] {
			continue
		}
		seen[in.GUID] = true
		in.Origin, in.FeedID = origin, feedID
		if in.Lang == "" {
			in.Lang = feed.Language
		}
		entries = append(entries, entry{in, i})
	}
	sort.SliceStable(entries, func(a, b int) bool {
		ta, tb := entries[a].in.PublishedAt, entries[b].in.PublishedAt
		if !ta.IsZero() && !tb.IsZero() && !ta.Equal(tb) {
			return ta.After(tb)
		}
		return entries[a].pos < entries[b].pos
	})
	out := make([]Input, len(entries))
	for i, e := range entries {
		out[i] = e.in
	}
	return out
}

// itemInput maps one feed item to an Input: GUID (else canonical link, else a hash of
// title and content), link resolved against the feed, byline, date, image and content.
func itemInput(it *gofeed.Item, base string) Input {
	in := Input{Title: it.Title}
	in.URL = resolveURL(base, it.Link)
	if in.URL == "" {
		for _, l := range it.Links {
			if in.URL = resolveURL(base, l); in.URL != "" {
				break
			}
		}
	}
	in.GUID = strings.TrimSpace(it.GUID)
	if in.GUID == "" {
		in.GUID = CanonicalURL(in.URL)
	}
	var names []string
	for _, a := range it.Authors {
		if a != nil && strings.TrimSpace(a.Name) != "" {
			names = append(names, strings.TrimSpace(a.Name))
		}
	}
	in.Byline = strings.Join(names, ", ")
	switch {
	case it.PublishedParsed != nil:
		in.PublishedAt = it.PublishedParsed.UTC()
	case it.UpdatedParsed != nil:
		in.PublishedAt = it.UpdatedParsed.UTC()
	}
	in.ImageURL = itemImage(it, base)
	content := strings.TrimSpace(it.Content)
	desc := strings.TrimSpace(it.Description)
	if content == "" {
		content = desc // RSS 2.0 puts either a teaser or the whole article in description
	}
	if content != "" && !strings.Contains(content, "<") {
		in.Text = content // JSON Feed content_text, or a plain RSS description
	} else {
		in.HTML = content
	}
	in.Excerpt = desc
	if in.GUID == "" && (in.Title != "" || content != "") {
		in.GUID = "hash:" + (&Input{Title: in.Title, HTML: content}).Hash()[4:20]
	}
	return in
}

// itemImage picks the item's lead image: gofeed's choice, then media:thumbnail, then any media:content.
func itemImage(it *gofeed.Item, base string) string {
	if it.Image != nil && it.Image.URL != "" {
		return resolveURL(base, it.Image.URL)
	}
	if media, ok := it.Extensions["media"]; ok {
		for _, key := range []string{"thumbnail", "content"} {
			for _, e := range media[key] {
				if u := resolveURL(base, e.Attrs["url"]); u != "" {
					return u
				}
			}
		}
		for _, g := range media["group"] {
			for _, key := range []string{"thumbnail", "content"} {
				for _, e := range g.Children[key] {
					if u := resolveURL(base, e.Attrs["url"]); u != "" {
						return u
					}
				}
			}
		}
	}
	return ""
}
