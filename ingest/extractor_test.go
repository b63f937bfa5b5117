package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldnews/herald/store"
)

// benchItem is one feed item's article-body HTML with the URL it resolves against.
type benchItem struct{ html, url string }

// feedFragments returns the article-body HTML of every item of the testdata
// feeds (WordPress, Ghost, Substack, Atom, JSON Feed) plus a generated one.
func feedFragments(tb testing.TB) []benchItem {
	tb.Helper()
	var items []benchItem
	for _, name := range []string{"wordpress.rss", "ghost.rss", "substack.rss", "atom.xml", "feed.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			tb.Fatal(err)
		}
		raw = []byte(strings.ReplaceAll(string(raw), "{{BASE}}", "https://news.example"))
		feed, err := parseFeed(raw)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		for _, in := range feedInputs(feed, "https://news.example/feed", "feed:1", 1) {
			if in.HTML != "" {
				items = append(items, benchItem{in.HTML, in.URL})
			}
		}
	}
	items = append(items, benchItem{longStory("the bench"), "https://news.example/bench"})
	return items
}

// TestExtractFragmentFeedItems converts the testdata feeds' item content and
// checks that the platform footers go while every story paragraph, heading,
// list item and caption stays, with links made absolute.
func TestExtractFragmentFeedItems(t *testing.T) {
	var all store.Body
	for _, it := range feedFragments(t) {
		body, err := extractFragment(context.Background(), it.html, it.url, nil)
		if err != nil {
			t.Fatalf("%s: %v", it.url, err)
		}
		all = append(all, body...)
	}
	text := all.PlainText()
	for _, junk := range []string{"appeared first on", "Enjoyed this?", "Thanks for reading", "Subscribe"} {
		if strings.Contains(text, junk) {
			t.Errorf("junk %q kept", junk)
		}
	}
	for _, want := range []string{
		"ending a debate that has run for almost a decade", "An artist’s drawing of the planned bridge.", "Width: 3.5 metres",
		"What happens next", "We have listened, and we have moved every turbine", "hill farms in business",
		"Banking hubs opened: 3", "weekday mornings back", "annual meeting in May", "temporary flood barriers",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("story text %q lost", want)
		}
	}
	kinds := map[store.BlockKind]bool{}
	for _, b := range all {
		kinds[b.Kind] = true
		for _, sp := range b.Spans {
			if sp.Href != "" && !strings.HasPrefix(sp.Href, "https://") {
				t.Errorf("relative link %q", sp.Href)
			}
		}
	}
	for _, k := range []store.BlockKind{store.BlockHeading, store.BlockListItem, store.BlockQuote, store.BlockParagraph} {
		if !kinds[k] {
			t.Errorf("no block of kind %v", k)
		}
	}
}

// TestExtractFragmentPageLike checks that content carrying a whole page (a
// document, or navigation around the story) still goes through the page
// extractors, which drop the chrome, while a clean body is kept whole.
func TestExtractFragmentPageLike(t *testing.T) {
	story := longStory("the ferry")
	nav := `<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav>`
	footer := `<footer><p>Copyright Harbour Times. All rights reserved. Registered in England.</p></footer>`
	tests := []struct {
		name, in string
	}{
		{"navigation and footer around the story", nav + `<main><article>` + story + `</article></main>` + footer},
		{"a whole document", `<html><head><title>Ferry</title></head><body>` + nav + `<article>` + story + `</article>` + footer + `</body></html>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := extractFragment(context.Background(), tt.in, "https://news.example/ferry", nil)
			if err != nil {
				t.Fatal(err)
			}
			text := body.PlainText()
			for _, chrome := range []string{"Home", "Sport", "All rights reserved"} {
				if strings.Contains(text, chrome) {
					t.Errorf("chrome %q kept:\n%s", chrome, text)
				}
			}
			if !strings.Contains(text, "Paragraph E of the report about the ferry") {
				t.Errorf("story lost:\n%s", text)
			}
		})
	}
	// A short list of links in a clean body is article content; the page extractors may drop it.
	clean := story + `<p>Sources:</p><ul><li><a href="/minutes">Council minutes</a></li><li><a href="/report">Operator report</a></li></ul>`
	body, err := extractFragment(context.Background(), clean, "https://news.example/ferry", nil)
	if err != nil || !strings.Contains(body.PlainText(), "Operator report") || body[len(body)-1].Spans[0].Href != "https://news.example/report" {
		t.Errorf("clean body changed: %v\n%s", err, body.PlainText())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := extractFragment(ctx, clean, "", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

// BenchmarkFeedItemBody is the per-item cost of turning a feed item's content
// into a cleaned body, cycling through the testdata feeds' items: "fragment"
// is extractFragment (direct conversion), "page" the page extractors on the
// content wrapped as a page, which is what extractFragment did before.
//
//	go test ./ingest -run '^$' -bench BenchmarkFeedItemBody -benchmem
func BenchmarkFeedItemBody(b *testing.B) {
	items := feedFragments(b)
	ctx := context.Background()
	b.Run("fragment", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			it := items[i%len(items)]
			if _, err := extractFragment(ctx, it.html, it.url, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("page", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			it := items[i%len(items)]
			if _, err := extractPage(ctx, wrapFragment(it.html), it.url, "text/html; charset=utf-8", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
