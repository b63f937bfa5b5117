// Package ingest brings stories into Herald: feed polling with conditional GET and
// per-feed backoff, single pages and text files, and CMS pushes, all through one
// Pipeline that extracts clean text, stores each story once, summarizes it once and
// queues its deliveries.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/heraldnews/herald/store"
	"github.com/heraldnews/herald/summarize"
)

// Queuer queues the deliveries of a story that has become ready; the delivery engine implements it.
type Queuer interface {
	// Queue records the story's channel posts and entitled DMs in the outbox. It is idempotent per story.
	Queue(ctx context.Context, s store.Story) error
}

// Input is one story as it arrives, before extraction: a feed item, a pushed story, a page or a text file.
type Input struct {
	// Origin scopes GUID: "feed:<id>", "push" or "cli".
	Origin string
	FeedID int64
	GUID   string
	// URL is the story's link; it is canonicalized (fragment and utm_* removed) before storing.
	URL         string
	Title       string
	Byline      string
	PublishedAt time.Time
	ImageURL    string
	Lang        string
	// Excerpt is the source's teaser (feed description), HTML or text.
	Excerpt string
	// HTML is article-body HTML (a feed item's content, a pushed story's html).
	HTML string
	// Text is the article as plain text, paragraphs separated by blank lines.
	Text string
	// Page is a whole HTML page to extract the article from, with its Content-Type header if known.
	Page            []byte
	PageContentType string
	// FetchFull asks for the article page at URL to be fetched and extracted even when HTML looks complete.
	FetchFull bool
	// Complete says HTML or Text is the whole article (a CMS push), so a short one is not taken for a teaser.
	Complete bool
	// Headers are sent with the article-page fetch (a publisher's Cookie, for example).
	Headers map[string]string
	// DropPatterns remove publisher-specific junk paragraphs.
	DropPatterns []*regexp.Regexp
}

// Hash identifies the source material of in, so an unchanged item is recognized before any fetch or extraction.
func (in *Input) Hash() string {
	h := sha256.New()
	for _, s := range []string{in.URL, in.Title, in.Byline, in.ImageURL, in.Excerpt, in.HTML, in.Text} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(in.Page)
	if in.FetchFull {
		h.Write([]byte{1}) // turning fetch_full on re-extracts known items
	}
	return "src:" + hex.EncodeToString(h.Sum(nil))
}

// excerptRunes bounds a stored excerpt; channel posts show it when there is no summary.
const excerptRunes = 400

// shortContentRunes is the length under which an item's content is taken for an excerpt and the page is fetched.
const shortContentRunes = 600

// truncationMarkers end feed content that is a teaser for the article page.
var truncationMarkers = []string{"[…]", "[...]", "[&hellip;]", "…", "..."}

// readMoreMarkers are link texts that end a teaser, compared case-insensitively and without trailing arrows.
var readMoreMarkers = []string{"read more", "continue reading", "read the full story", "read the rest", "keep reading", "read full article"}

// PipelineOptions configures a Pipeline.
type PipelineOptions struct {
	// HTTP configures article-page fetches.
	HTTP   HTTPOptions
	Logger *slog.Logger
}

// Pipeline turns Inputs into stored, summarized and queued stories.
type Pipeline struct {
	store      *store.Store
	summarizer summarize.Summarizer
	queuer     Queuer
	fetch      *fetcher
	logger     *slog.Logger
}

// NewPipeline builds a pipeline. st may be nil for Prepare-only use (previews);
// sum and q may be nil, in which case nothing is summarized or queued.
func NewPipeline(st *store.Store, sum summarize.Summarizer, q Queuer, o PipelineOptions) *Pipeline {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Pipeline{store: st, summarizer: sum, queuer: q, fetch: newFetcher(o.HTTP), logger: o.Logger.With("component", "ingest")}
}

// outcome says what process did with an input.
type outcome struct {
	Ref store.StoryRef
	// Story is the stored story; it is left empty when the input was recognized as unchanged.
	Story  store.Story
	Result store.UpsertResult
	// Queued is true when the story's deliveries were queued by this call.
	Queued bool
}

// Process stores in as a story. A new story with text is summarized once; when queue is
// true its deliveries are then queued. A known story whose source material changed is
// updated without being summarized or queued again; an unchanged one costs one lookup.
// A story first seen through another origin (another feed, a push) keeps its first version.
func (p *Pipeline) Process(ctx context.Context, in Input, queue bool) (store.Story, store.UpsertResult, error) {
	o, err := p.process(ctx, in, queue)
	if err != nil {
		return o.Story, o.Result, err
	}
	if o.Story.ID == 0 {
		if o.Story, err = p.store.GetStory(ctx, o.Ref.ID); err != nil {
			return o.Story, o.Result, fmt.Errorf("ingest: process: %w", err)
		}
	}
	return o.Story, o.Result, nil
}

func (p *Pipeline) process(ctx context.Context, in Input, queue bool) (outcome, error) {
	if p.store == nil {
		return outcome{}, errors.New("ingest: process: pipeline has no store")
	}
	if in.Origin == "" || in.GUID == "" {
		return outcome{}, errors.New("ingest: process: origin and guid are required")
	}
	hash := in.Hash()
	ref, err := p.store.StoryRefByGUID(ctx, in.Origin, in.GUID)
	switch {
	case err == nil:
		if ref.ContentHash == hash {
			return outcome{Ref: ref, Result: store.StoryUnchanged}, nil
		}
	case !errors.Is(err, store.ErrNotFound):
		return outcome{}, fmt.Errorf("ingest: process: %w", err)
	default:
		ref, err = p.store.StoryRefByURL(ctx, CanonicalURL(in.URL))
		switch {
		case err == nil && (ref.Origin != in.Origin || ref.ContentHash == hash):
			// Another source already delivered this story, or this feed re-issued it under a new GUID.
			return outcome{Ref: ref, Result: store.StoryUnchanged}, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return outcome{}, fmt.Errorf("ingest: process: %w", err)
		}
	}
	st, err := p.Prepare(ctx, in)
	if err != nil {
		return outcome{}, err
	}
	st.ContentHash = hash
	st.QueueWanted = queue
	saved, res, err := p.store.UpsertStory(ctx, st)
	if err != nil {
		return outcome{}, fmt.Errorf("ingest: process: %w", err)
	}
	out := outcome{Ref: store.StoryRef{ID: saved.ID, Origin: saved.Origin, GUID: saved.GUID, ContentHash: saved.ContentHash}, Story: saved, Result: res}
	if res != store.StoryCreated || !queue {
		// Stories stored silently (first-poll backlog) are not summarized: nothing posts them.
		return out, nil
	}
	saved, queued, err := p.ready(ctx, saved)
	out.Story, out.Queued = saved, queued
	return out, err
}

// ready summarizes a new story once and queues its deliveries.
func (p *Pipeline) ready(ctx context.Context, saved store.Story) (store.Story, bool, error) {
	if saved.HasFullText() && p.summarizer != nil && saved.Summary == "" {
		sum, err := p.Summarize(ctx, saved)
		if err != nil {
			// The post still goes out with title, excerpt and link.
			p.logger.Warn("summary failed", "story", saved.ID, "err", err)
		} else if err := p.store.SetStorySummary(ctx, saved.ID, sum.Text, sum.Summarizer, sum.Model); err != nil {
			return saved, false, fmt.Errorf("ingest: process: %w", err)
		} else {
			saved.Summary, saved.Summarizer, saved.SummaryModel = sum.Text, sum.Summarizer, sum.Model
		}
	}
	if p.queuer == nil {
		return saved, false, nil
	}
	if err := p.queuer.Queue(ctx, saved); err != nil {
		return saved, false, fmt.Errorf("ingest: queue story %d: %w", saved.ID, err)
	}
	return saved, true, nil
}

// ResumeWindow bounds how old a stranded story may be for ResumePending to still deliver it:
// news older than this would arrive as a surprise, so it is left for an operator to push again.
const ResumeWindow = 48 * time.Hour

// ResumePending summarizes and queues stories that were stored for delivery but never queued
// (a crash or a failed queue between the two). `herald serve` calls it at start.
func (p *Pipeline) ResumePending(ctx context.Context) (int, error) {
	if p.store == nil || p.queuer == nil {
		return 0, nil
	}
	stories, err := p.store.StoriesAwaitingQueue(ctx, p.store.Now().Add(-ResumeWindow), 1000)
	if err != nil {
		return 0, fmt.Errorf("ingest: resume: %w", err)
	}
	n := 0
	for _, st := range stories {
		if _, _, err := p.ready(ctx, st); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		p.logger.Info("queued stories left unqueued by an earlier run", "stories", n)
	}
	return n, nil
}

// Push stores a story pushed by a CMS (origin "push") and queues it when new.
// It returns the story id, whether it was new and whether it was queued.
func (p *Pipeline) Push(ctx context.Context, in Input) (id int64, created, queued bool, err error) {
	in.Origin = "push"
	in.Complete = true
	o, err := p.process(ctx, in, true)
	if err != nil {
		return 0, false, false, err
	}
	return o.Ref.ID, o.Result == store.StoryCreated, o.Queued, nil
}

// Summarize makes the summary of a prepared story; it fails for a story without text.
func (p *Pipeline) Summarize(ctx context.Context, st store.Story) (summarize.Summary, error) {
	if p.summarizer == nil {
		return summarize.Summary{}, errors.New("ingest: summarize: no summarizer configured")
	}
	if !st.HasFullText() {
		return summarize.Summary{}, errors.New("ingest: summarize: story has no extracted text")
	}
	text := st.Text
	if text == "" {
		text = st.Body.PlainText()
	}
	sum, err := p.summarizer.Summarize(ctx, summarize.Article{Title: st.Title, Text: text, Lang: st.Lang})
	if err != nil {
		return sum, fmt.Errorf("ingest: summarize: %w", err)
	}
	return sum, nil
}

// Prepare builds the story for in without touching the database: it fetches the article
// page when the input carries only an excerpt (or FetchFull is set), extracts and cleans
// the text, and fills metadata. A story whose text could not be extracted comes back
// with ExtractError set, no body and the source's excerpt; only ctx errors are returned.
func (p *Pipeline) Prepare(ctx context.Context, in Input) (store.Story, error) {
	st := store.Story{
		Origin: in.Origin, GUID: in.GUID, FeedID: in.FeedID, URL: CanonicalURL(in.URL),
		Title: cleanLine(in.Title), Byline: cleanLine(in.Byline), PublishedAt: in.PublishedAt,
		ImageURL: strings.TrimSpace(in.ImageURL), Lang: in.Lang,
	}
	excerpt := htmlText(in.Excerpt)
	var body store.Body
	var why error
	switch {
	case len(in.Page) > 0:
		res, err := extractPage(ctx, in.Page, in.URL, in.PageContentType, in.DropPatterns)
		fillMeta(&st, res)
		body, why = res.Body, err
	case in.HTML != "":
		body, why = extractFragment(ctx, in.HTML, in.URL, in.DropPatterns)
	case in.Text != "":
		body = cleanText(in.Text, in.DropPatterns)
	}
	if ctx.Err() != nil {
		return store.Story{}, ctx.Err()
	}
	teaser := len(in.Page) == 0 && !in.Complete && (len(body) == 0 || looksLikeExcerpt(body.PlainText()))
	if st.URL != "" && (in.FetchFull || teaser) && len(in.Page) == 0 {
		res, err := p.fetchArticle(ctx, st.URL, in)
		if ctx.Err() != nil {
			return store.Story{}, ctx.Err()
		}
		switch {
		case err == nil:
			fillMeta(&st, res)
			body, why = res.Body, nil
		case teaser:
			if excerpt == "" {
				excerpt = body.PlainText()
			}
			body, why = nil, err
		default:
			// The item's own content is complete enough; the page was only a refinement.
			p.logger.Info("article page not used", "url", redactURL(st.URL), "err", err)
		}
	}
	if len(body) == 0 && why == nil {
		why = errors.New("ingest: no article text")
	}
	if why != nil {
		st.ExtractError = why.Error()
		body = nil
	}
	st.Body = dropBylineBlock(body, st.Byline)
	body = st.Body
	st.Text = body.PlainText()
	if excerpt == "" {
		excerpt = st.Text
	}
	st.Excerpt = truncateRunes(excerpt, excerptRunes)
	if st.Title == "" && len(body) > 0 && body[0].Kind == store.BlockHeading {
		st.Title = cleanLine(body[0].Text())
		st.Body = body[1:]
		st.Text = st.Body.PlainText()
	}
	return st, nil
}

// fetchArticle downloads and extracts the article page at u with the input's headers.
func (p *Pipeline) fetchArticle(ctx context.Context, u string, in Input) (res extractResult, err error) {
	resp, err := p.fetch.get(ctx, request{url: u, accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5", headers: in.Headers})
	if err != nil {
		return res, err
	}
	if resp.status == 304 {
		return res, fmt.Errorf("ingest: article page %s: unexpected 304", redactURL(u))
	}
	return extractPage(ctx, resp.body, resp.finalURL, resp.contentType, in.DropPatterns)
}

// fillMeta copies page metadata into fields the source left empty; the source's own values win.
func fillMeta(st *store.Story, r extractResult) {
	if st.Title == "" {
		st.Title = cleanLine(r.Title)
	}
	if st.Byline == "" {
		st.Byline = cleanLine(r.Byline)
	}
	if st.SiteName == "" {
		st.SiteName = cleanLine(r.SiteName)
	}
	if st.ImageURL == "" {
		st.ImageURL = r.ImageURL
	}
	if st.Lang == "" {
		st.Lang = r.Language
	}
	if st.PublishedAt.IsZero() {
		st.PublishedAt = r.Published
	}
}

// looksLikeExcerpt reports whether text is a teaser rather than a whole article:
// short, or ending in an ellipsis or a "read more" link.
func looksLikeExcerpt(text string) bool {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) < shortContentRunes {
		return true
	}
	for _, m := range truncationMarkers {
		if strings.HasSuffix(text, m) {
			return true
		}
	}
	tail := text
	if i := strings.LastIndex(tail, "\n\n"); i >= 0 {
		tail = tail[i:]
	}
	tail = strings.ToLower(strings.TrimRight(tail, " .:»›→>"))
	for _, m := range readMoreMarkers {
		if strings.HasSuffix(tail, m) {
			return true
		}
	}
	return false
}

// htmlText returns the visible text of an HTML snippet (or the snippet itself when it is text), whitespace collapsed.
func htmlText(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "<") && !strings.Contains(s, "&") {
		return collapse(s)
	}
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		return collapse(s)
	}
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style") {
			return
		}
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return collapse(sb.String())
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// cleanLine collapses whitespace and decodes the entities some feeds double-escape in titles.
func cleanLine(s string) string {
	if strings.Contains(s, "&") {
		s = html.UnescapeString(s)
	}
	return collapse(s)
}

// truncateRunes shortens s to at most n runes at a word boundary, marking the cut with an ellipsis.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	cut := string(r)
	if i := strings.LastIndexAny(cut, " \n"); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:") + "…"
}

// dropBylineBlock removes a short leading paragraph that repeats the byline ("By Jane Doe · 5 May"):
// the DM header already carries the byline, so the reader would see it twice.
func dropBylineBlock(body store.Body, byline string) store.Body {
	by := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(byline), "By ")))
	if by == "" {
		return body
	}
	for i := 0; i < len(body) && i < 3; i++ {
		t := strings.ToLower(strings.TrimSpace(body[i].Text()))
		if utf8.RuneCountInString(t) > 120 || body[i].Kind == store.BlockHeading {
			continue
		}
		t = strings.TrimSpace(strings.TrimPrefix(t, "by "))
		if strings.HasPrefix(t, by) {
			return append(body[:i:i], body[i+1:]...)
		}
	}
	return body
}
