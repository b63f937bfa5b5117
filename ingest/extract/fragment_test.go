package extract

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldnews/herald/store"
	"golang.org/x/net/html"
)

// storyParas is a body long enough to read as an article, to put around the markup under test.
const storyParas = `<p>The harbour ferry will keep running through the winter for the first time, with four crossings a day.</p>` +
	`<p>The operator said the decision followed two years of requests from commuters on the north shore.</p>`

func TestFragmentConverts(t *testing.T) {
	const base = "https://news.example/2025/03/ferry/"
	p := func(spans ...store.Span) store.Block { return store.Block{Kind: store.BlockParagraph, Spans: spans} }
	txt := func(s string) store.Span { return store.Span{Text: s} }
	tests := []struct {
		name string
		in   string
		want store.Body
	}{
		{
			name: "headings, lists, quotes and inline formatting survive; links become absolute",
			in: `<p>The <strong>ferry</strong> runs <em>all winter</em>, <a href="/timetable">the operator</a> said.</p>` +
				`<h2>What changes</h2><ul><li>Four crossings</li><li>Same fares</li></ul>` +
				`<ol start="2"><li>North pier</li></ol><blockquote><p>We listened.</p></blockquote>`,
			want: store.Body{
				p(txt("The "), store.Span{Text: "ferry", Bold: true}, txt(" runs "), store.Span{Text: "all winter", Italic: true},
					txt(", "), store.Span{Text: "the operator", Href: "https://news.example/timetable"}, txt(" said.")),
				{Kind: store.BlockHeading, Level: 2, Spans: []store.Span{txt("What changes")}},
				{Kind: store.BlockListItem, Spans: []store.Span{txt("Four crossings")}},
				{Kind: store.BlockListItem, Spans: []store.Span{txt("Same fares")}},
				{Kind: store.BlockListItem, Ordered: true, Index: 2, Spans: []store.Span{txt("North pier")}},
				{Kind: store.BlockQuote, Spans: []store.Span{txt("We listened.")}},
			},
		},
		{
			name: "scripts, styles, iframes, images and hidden elements go",
			in: `<style>p{color:red}</style><script>track()</script><p>Crossings start at seven.</p>` +
				`<iframe src="https://video.example/embed/1">Watch the video</iframe><img src="a.jpg" alt="Ferry">` +
				`<p hidden>tracking text</p><span style="display: none">invisible</span><p aria-hidden="true">dup</p>`,
			want: store.Body{p(txt("Crossings start at seven."))},
		},
		{
			name: "a file-id caption goes, a real caption stays",
			in: `<p>Crossings start at seven.</p><figure><img src="x.jpg"><figcaption>IMG_4921.JPG</figcaption></figure>` +
				`<figure><img src="y.jpg"><figcaption>The ferry leaving the north pier.</figcaption></figure>`,
			want: store.Body{p(txt("Crossings start at seven.")), p(txt("The ferry leaving the north pier."))},
		},
		{
			name: "platform footers are cleaned",
			in: `<p>Crossings start at seven.</p><div class="kg-card kg-cta-card"><p>Enjoyed this? Subscribe to Northern Dispatch for free.</p></div>` +
				`<p class="button-wrapper"><a class="button primary" href="/subscribe"><span>Subscribe now</span></a></p>` +
				`<p><a href="/p/ferry/comments">Leave a comment</a></p>` +
				`<p>The post <a href="/ferry">Ferry runs all winter</a> appeared first on <a href="/">Harbour Times</a>.</p>`,
			want: store.Body{p(txt("Crossings start at seven."))},
		},
		{
			name: "double line breaks separate paragraphs, a single one stays a line break",
			in:   "Crossings start at seven.<br><br>\n<br>Fares stay the same.<br>Passes remain valid.<ul><li>one<br><br>two</li></ul>",
			want: store.Body{
				p(txt("Crossings start at seven.")), p(txt("Fares stay the same.\nPasses remain valid.")),
				{Kind: store.BlockListItem, Spans: []store.Span{txt("one\ntwo")}},
			},
		},
		{
			name: "a quotation's footer and a Ghost header card are article parts",
			in: `<div class="kg-card kg-header-card"><h2>Winter timetable</h2></div>` +
				`<blockquote><p>We listened.</p><footer>— the operator</footer></blockquote>`,
			want: store.Body{
				{Kind: store.BlockHeading, Level: 2, Spans: []store.Span{txt("Winter timetable")}},
				{Kind: store.BlockQuote, Spans: []store.Span{txt("We listened.")}},
				{Kind: store.BlockQuote, Spans: []store.Span{txt("— the operator")}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Fragment(tt.in, base, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFragmentDropPatternsAndErrors(t *testing.T) {
	drop := []*regexp.Regexp{regexp.MustCompile(`^This story was produced with support from`)}
	got, err := Fragment(storyParas+`<p>This story was produced with support from the Example Foundation.</p>`, "", Options{DropPatterns: drop})
	if err != nil || len(got) != 2 || strings.Contains(got.PlainText(), "Foundation") {
		t.Errorf("drop pattern: got %q, %v", got.PlainText(), err)
	}
	if _, err := Fragment(`<p>Advertisement</p><p><a href="/s">Subscribe now</a></p><script>x()</script>`, "", Options{}); !errors.Is(err, ErrNoArticle) {
		t.Errorf("junk-only fragment: err = %v, want ErrNoArticle", err)
	}
	if _, err := Fragment(strings.Repeat("a", MaxPageBytes+1), "", Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized fragment: err = %v, want ErrTooLarge", err)
	}
	if _, err := Fragment(strings.Repeat("<br>", maxElements+1), "", Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("element bomb: err = %v, want ErrTooLarge", err)
	}
	if got, err := Fragment("<p>Caf\xe9 society \u00adre\u00adturns.</p>", "", Options{}); err != nil || got.PlainText() != "Caf\uFFFD society returns." {
		t.Errorf("invalid UTF-8 and soft hyphens: got %q, %v", got.PlainText(), err)
	}
}

// TestFragmentRefusesWholePages lists the shapes of feed content that carry a
// page's chrome (they must go through Extract) and article markup that
// resembles it but is not chrome.
func TestFragmentRefusesWholePages(t *testing.T) {
	menu := `<ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>` +
		`<li><a href="/arts">Arts</a></li><li><a href="/about">About us</a></li></ul>`
	tests := []struct {
		name  string
		in    string
		whole bool
	}{
		{"html element", `<html><body>` + storyParas + `</body></html>`, true},
		{"doctype", `<!DOCTYPE html>` + storyParas, true},
		{"body element", `<BODY class="post">` + storyParas, true},
		{"head element", `<head><title>Ferry</title></head>` + storyParas, true},
		{"title element", `<title>Ferry | Harbour Times</title>` + storyParas, true},
		{"nav", `<nav><a href="/">Home</a></nav>` + storyParas, true},
		{"site header", `<header><a href="/">Harbour Times</a></header>` + storyParas, true},
		{"site footer", storyParas + `<footer>© Harbour Times</footer>`, true},
		{"role navigation", `<div role="navigation"><a href="/">Home</a></div>` + storyParas, true},
		{"chrome class name", `<div class="site-header">Harbour Times</div>` + storyParas, true},
		{"chrome id", `<div id="sidebar"><p>Most read</p></div>` + storyParas, true},
		{"menu of short links", menu + storyParas, true},
		{"aside of links", storyParas + `<aside><a href="/a">Storm closes coast road</a> <a href="/b">School wins final</a></aside>`, true},
		{"search form", `<form><input type="search" name="q"></form>` + storyParas, true},
		{"plain article", storyParas, false},
		{"header inside a quotation's attribution", `<blockquote><p>We listened.</p><footer>Operator</footer></blockquote>` + storyParas, false},
		{"figure with caption", storyParas + `<figure><img src="a.jpg"><figcaption>The pier</figcaption></figure>`, false},
		{"pull quote aside", storyParas + `<aside class="pullquote">We listened.</aside>`, false},
		{"further reading list of headlines", storyParas + `<ul><li><a href="/a">Storm closes the coast road for a second week</a></li>` +
			`<li><a href="/b">School wins the county chess final again</a></li><li><a href="/c">Ferry fares to stay the same next year</a></li>` +
			`<li><a href="/d">Council approves a new footbridge over the river</a></li><li><a href="/e">Library opens on Sundays from next month</a></li></ul>`, false},
		{"short list of linked names", storyParas + `<ul><li><a href="/a">Ana</a></li><li><a href="/b">Ben</a></li></ul>`, false},
		{"svg title", `<svg><title>Chart</title></svg>` + storyParas, false},
		{"header-ish class tokens", `<div class="kg-header-card page-title">Ferry</div>` + storyParas, false},
		{"escaped tags in text", `<p>Write &lt;html&gt; and &lt;body&gt; first.</p>` + storyParas, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Fragment(tt.in, "https://news.example/a", Options{})
			if got := errors.Is(err, ErrWholePage); got != tt.whole {
				t.Errorf("whole page = %v (err %v), want %v", got, err, tt.whole)
			}
			if !tt.whole && err != nil {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// realFragments renders, for each page of the extraction set, the article
// element readability finds as HTML: the size and markup of a real feed
// item's content:encoded.
func realFragments(tb testing.TB) (frags []string, pages []benchPage) {
	tb.Helper()
	for _, pg := range loadExtractionSet(tb) {
		doc, base, _, err := parsePage(pg.html, pg.url, "")
		if err != nil {
			tb.Fatalf("%s: %v", pg.id, err)
		}
		c := readabilityCandidate(doc, base)
		if c.node == nil {
			continue
		}
		var sb strings.Builder
		if err := html.Render(&sb, c.node); err != nil {
			tb.Fatal(err)
		}
		frags = append(frags, sb.String())
		pages = append(pages, pg)
	}
	return frags, pages
}

// TestFragmentOnRealBodies feeds real article bodies (readability's article
// element of each benchmark page, rendered to HTML as a CMS would put it in
// a feed) to Fragment and, for comparison, to the page extractors wrapped
// as a page — what ingest did before Fragment existed — and scores both
// against the human-marked bodies. Fragment must not lose text the page
// extractors keep.
//
//	go test ./ingest/extract -run TestFragmentOnRealBodies -v
func TestFragmentOnRealBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the real-body comparison in -short mode")
	}
	frags, pages := realFragments(t)
	var direct, viaPage score
	whole := 0
	for i, frag := range frags {
		pg := pages[i]
		body, err := Fragment(frag, pg.url, Options{})
		if errors.Is(err, ErrWholePage) {
			// Readability's element still holds chrome; ingest sends such content to Extract.
			whole++
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", pg.id[:12], err)
			continue
		}
		res, _ := Extract(context.Background(), []byte(`<html><head><meta charset="utf-8"></head><body><article>`+frag+`</article></body></html>`), pg.url, "", Options{})
		dp, dr := pagePR(pg.truth, body.PlainText())
		pp, pr := pagePR(pg.truth, res.Body.PlainText())
		direct.add(dp, dr)
		viaPage.add(pp, pr)
		if dr+0.02 < pr {
			t.Logf("%s: Fragment recall %.3f below the page extractors' %.3f", pg.id[:12], dr, pr)
		}
	}
	dp, dr, df := direct.prf()
	pp, pr, pf := viaPage.prf()
	t.Logf("%d real bodies (%d refused as whole pages)", len(frags), whole)
	t.Logf("Fragment          precision=%.4f recall=%.4f F1=%.4f", dp, dr, df)
	t.Logf("Extract(wrapped)  precision=%.4f recall=%.4f F1=%.4f", pp, pr, pf)
	if dr < pr {
		t.Errorf("Fragment recall %.4f below the page extractors' %.4f on clean bodies", dr, pr)
	}
}

// BenchmarkFragment is the per-item cost of a real-size article body
// (readability's element of each benchmark page, as HTML): "fragment" is
// Fragment with the fallback to Extract for bodies it refuses as whole
// pages, as ingest runs it; "page" is Extract on every body wrapped as a
// page, as ingest ran it before Fragment existed.
//
//	go test ./ingest/extract -run '^$' -bench BenchmarkFragment -benchmem
func BenchmarkFragment(b *testing.B) {
	frags, pages := realFragments(b)
	page := func(j int) error {
		doc := []byte(`<html><head><meta charset="utf-8"></head><body><article>` + frags[j] + `</article></body></html>`)
		_, err := Extract(context.Background(), doc, pages[j].url, "", Options{})
		if errors.Is(err, ErrNoArticle) {
			return nil
		}
		return err
	}
	b.Run("fragment", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			j := i % len(frags)
			_, err := Fragment(frags[j], pages[j].url, Options{})
			if errors.Is(err, ErrWholePage) {
				err = page(j)
			}
			if err != nil {
				b.Fatalf("%s: %v", pages[j].id, err)
			}
		}
	})
	b.Run("page", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if j := i % len(frags); page(j) != nil {
				b.Fatalf("%s: %v", pages[j].id, page(j))
			}
		}
	})
}
