package ingest

import (
	"context"
	"errors"
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

// fragmentPrefix wraps a feed item's content that turned out to be page-like
// (navigation, a site header) as a page, declaring UTF-8 because the feed or
// JSON decoder already decoded it.
const (
	fragmentPrefix = `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>`
	fragmentSuffix = `</body></html>`
)

// extractFragment converts article-body HTML (a feed item's content, a pushed
// story's html) into a cleaned body. It is converted directly; only HTML that
// carries a whole page's chrome goes through the page extractors.
func extractFragment(ctx context.Context, fragment, baseURL string, drop []*regexp.Regexp) (store.Body, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	body, err := extract.Fragment(fragment, baseURL, extract.Options{DropPatterns: drop})
	if !errors.Is(err, extract.ErrWholePage) {
		return body, err
	}
	res, err := extractPage(ctx, wrapFragment(fragment), baseURL, "text/html; charset=utf-8", drop)
	return res.Body, err
}

// wrapFragment makes a document of fragment unless it already is one.
func wrapFragment(fragment string) []byte {
	if extract.IsDocument(fragment) {
		return []byte(fragment)
	}
	page := make([]byte, 0, len(fragmentPrefix)+len(fragment)+len(fragmentSuffix))
	return append(append(append(page, fragmentPrefix...), fragment...), fragmentSuffix...)
}

// cleanText turns plain text (paragraphs separated by blank lines) into a cleaned body.
func cleanText(text string, drop []*regexp.Regexp) store.Body {
	return extract.CleanText(text, drop)
}

// detect tells an HTML page, a feed and plain text apart by content.
func detect(data []byte) extract.Kind { return extract.Detect(data) }

// extractResult is what a page extraction yields.
type extractResult = extract.Result
