// Package summarize turns a cleaned article into one short summary for channel posts.
package summarize

import "context"

// Article is the input of a summarizer: cleaned text only, never raw HTML.
type Article struct {
	Title string
	// Text is the cleaned article text, paragraphs separated by blank lines.
	Text string
	// Lang is an optional BCP 47 language hint ("en", "de"); empty means unknown.
	Lang string
}

// Summary is a summarizer's output together with what produced it.
type Summary struct {
	Text string `json:"text"`
	// Summarizer names the backend that made the summary: "extractive" or "openai".
	Summarizer string `json:"summarizer"`
	// Model is the model name for model-backed summarizers; empty for the extractive one.
	Model            string `json:"model,omitempty"`
	PromptTokens     int    `json:"prompt_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens,omitempty"`
	// Fallback is set by WithFallback when the primary summarizer failed and
	// this summary comes from the fallback; WithCache never stores such a summary.
	Fallback bool `json:"fallback,omitempty"`
	// Cached is set by WithCache when the summary was read from the cache, so
	// token counts of a cached summary are not counted again.
	Cached bool `json:"-"`
}

// Summarizer makes one summary of an article.
type Summarizer interface {
	Summarize(ctx context.Context, a Article) (Summary, error)
}

// Cache stores encoded summaries by key; the store package implements it on SQLite.
type Cache interface {
	// GetSummary returns the cached value and true, or false when the key is unknown.
	GetSummary(ctx context.Context, key string) ([]byte, bool, error)
	// PutSummary records a value; putting an existing key keeps the first value.
	PutSummary(ctx context.Context, key string, value []byte) error
}
