package ingest

import (
	"context"
	"regexp"

	"github.com/heraldnews/herald/ingest/extract"
	"github.com/heraldnews/herald/store"
)

// This file is the one seam between the pipeline and ingest/extract, so the
// extraction engine can change without touching polling or dedup.

// extractPage finds the article in a whole HTML page.
func extractPage(ctx context.Context, page []byte, pageURL, contentType string, drop []*regexp.Regexp) (extract.Result, error) {
	return extract.Extract(ctx, page, pageURL, contentType, extract.Options{DropPatterns: drop})
}

// fragmentPrefix wraps an article-body fragment (a feed item's content, a pushed story's html)
// as a page, declaring UTF-8 because the feed or JSON decoder already decoded it.
const (
	fragmentPrefix = `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><article>`
	fragmentSuffix = `</article></body></html>`
)

// extractFragment converts article-body HTML into a cleaned body.
func extractFragment(ctx context.Context, fragment, baseURL string, drop []*regexp.Regexp) (store.Body, error) {
	page := make([]byte, 0, len(fragmentPrefix)+len(fragment)+len(fragmentSuffix))
	page = append(append(append(page, fragmentPrefix...), fragment...), fragmentSuffix...)
	res, err := extract.Extract(ctx, page, baseURL, "text/html; charset=utf-8", extract.Options{DropPatterns: drop})
	return res.Body, err
}

// cleanText turns plain text (paragraphs separated by blank lines) into a cleaned body.
func cleanText(text string, drop []*regexp.Regexp) store.Body {
	return extract.CleanText(text, drop)
}

// detect tells an HTML page, a feed and plain text apart by content.
func detect(data []byte) extract.Kind { return extract.Detect(data) }

// extractResult is what a page extraction yields.
type extractResult = extract.Result
