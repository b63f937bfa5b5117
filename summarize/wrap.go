package summarize

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// CacheKey returns the cache key of an article under the given summarizer
// settings: a SHA-256 over the settings and the article's title, language
// and text, each length-prefixed so no two inputs collide by concatenation.
func CacheKey(settingsKey string, a Article) string {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{settingsKey, a.Title, a.Lang, a.Text} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return "sum1:" + hex.EncodeToString(h.Sum(nil))
}

// cached stores summaries of an inner summarizer in a Cache.
type cached struct {
	inner    Summarizer
	cache    Cache
	settings string

	mu       sync.Mutex
	inflight map[string]*flight
}

type flight struct {
	done chan struct{}
	sum  Summary
	err  error
}

// WithCache returns a Summarizer that keeps one summary per (article
// content, settingsKey) in c, so the inner summarizer (a paid model) is never
// called twice for the same content, across restarts and re-ingests.
// settingsKey must change whenever the inner summarizer's output would
// (model, prompt version, budget). Concurrent calls for the same content
// share one inner call. Errors are never cached, and neither are summaries
// marked Fallback: they were made by a stand-in after a failure, and a
// transient outage must not pin them under this key for ever. Cache failures
// are not fatal: a failed read costs one fresh call, and a failed write is
// dropped because the summary, already made and paid for, matters more than
// its caching (the store reports its own errors).
func WithCache(s Summarizer, c Cache, settingsKey string) Summarizer {
	return &cached{inner: s, cache: c, settings: settingsKey, inflight: map[string]*flight{}}
}

// Summarize returns the cached summary or makes, caches and returns one.
func (c *cached) Summarize(ctx context.Context, a Article) (Summary, error) {
	key := CacheKey(c.settings, a)
	if raw, ok, err := c.cache.GetSummary(ctx, key); err == nil && ok {
		var s Summary
		if err := json.Unmarshal(raw, &s); err == nil && s.Text != "" {
			s.Cached = true
			return s, nil
		}
	}

	c.mu.Lock()
	for {
		f, ok := c.inflight[key]
		if !ok {
			break
		}
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Summary{}, fmt.Errorf("summarize: cache: %w", ctx.Err())
		}
		switch {
		case f.err == nil:
			s := f.sum
			s.Cached = !s.Fallback // its tokens are counted by the call that made it
			return s, nil
		case errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded):
			// The other caller gave up; this one may still have time.
			c.mu.Lock()
			continue
		default:
			return Summary{}, f.err
		}
	}
	f := &flight{done: make(chan struct{})}
	c.inflight[key] = f
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.inflight, key)
		c.mu.Unlock()
		close(f.done)
	}()

	f.sum, f.err = c.inner.Summarize(ctx, a)
	if f.err != nil || f.sum.Fallback || f.sum.Text == "" {
		return f.sum, f.err
	}
	raw, err := json.Marshal(f.sum)
	if err == nil {
		// The summary is made and paid for: a failed write must not lose it.
		_ = c.cache.PutSummary(ctx, key, raw)
	}
	return f.sum, nil
}

// fallback tries a primary summarizer and falls back to a second one.
type fallback struct {
	primary, secondary Summarizer
	log                *slog.Logger
}

// WithFallback returns a Summarizer that uses primary and, on any failure of
// it (error, timeout, empty text), uses fallback so the story still goes out.
// The returned Summary names the summarizer that actually made it and, when
// the fallback did, has Fallback set so WithCache does not store it under
// the primary's key. Compose caches per backend, inside the fallback:
//
//	WithFallback(WithCache(model, c, modelKey), WithCache(extractive, c, extKey), log)
//
// A context cancelled by the caller is returned as is, without falling back.
func WithFallback(primary, fallbackTo Summarizer, logger *slog.Logger) Summarizer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &fallback{primary: primary, secondary: fallbackTo, log: logger}
}

// Summarize returns the primary's summary or, on its failure, the fallback's.
func (f *fallback) Summarize(ctx context.Context, a Article) (Summary, error) {
	s, err := f.primary.Summarize(ctx, a)
	if err == nil && strings.TrimSpace(s.Text) != "" {
		return s, nil
	}
	if ctx.Err() != nil {
		return Summary{}, fmt.Errorf("summarize: %w", ctx.Err())
	}
	if err == nil {
		err = errors.New("empty summary")
	}
	if errors.Is(err, ErrEmpty) {
		return Summary{}, err // nothing to summarize: the fallback cannot do better
	}
	f.log.WarnContext(ctx, "summarizer failed, using fallback", "error", err)
	fs, ferr := f.secondary.Summarize(ctx, a)
	if ferr != nil {
		return Summary{}, fmt.Errorf("summarize: primary failed (%v), fallback failed: %w", err, ferr)
	}
	fs.Fallback = true
	return fs, nil
}
