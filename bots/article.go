package bots

import (
	"strings"

	"github.com/heraldnews/herald/store"
)

// ArticleBlocks is a story as a full-article DM in neutral form: title, byline and date, link, then the body.
func ArticleBlocks(s store.Story) store.Body {
	var out store.Body
	if strings.TrimSpace(s.Title) != "" {
		out = append(out, store.Block{Kind: store.BlockHeading, Level: 1, Spans: []store.Span{{Text: s.Title, Bold: true}}})
	}
	meta := ""
	if s.Byline != "" {
		meta = s.Byline
	}
	if !s.PublishedAt.IsZero() {
		if meta != "" {
			meta += " · "
		}
		meta += s.PublishedAt.UTC().Format("2 January 2006 15:04 MST")
	}
	if meta != "" {
		out = append(out, store.Block{Kind: store.BlockParagraph, Spans: []store.Span{{Text: meta, Italic: true}}})
	}
	if s.URL != "" {
		out = append(out, store.Block{Kind: store.BlockParagraph, Spans: []store.Span{{Text: s.URL, Href: s.URL}}})
	}
	return append(out, s.Body...)
}

// ArticleMessages renders a story's full text as DM messages split to the platform's limits.
func ArticleMessages(s store.Story, l Limits) []Message {
	msgs := Split(ArticleBlocks(s), l)
	for i := range msgs {
		msgs[i].NoPreview = true
	}
	return msgs
}
