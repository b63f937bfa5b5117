package summarize

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memCache is an in-memory Cache with the store's first-write-wins rule.
type memCache struct {
	mu     sync.Mutex
	m      map[string][]byte
	getErr error
	putErr error
}

func newMemCache() *memCache { return &memCache{m: map[string][]byte{}} }

func (c *memCache) GetSummary(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.getErr != nil {
		return nil, false, c.getErr
	}
	v, ok := c.m[key]
	return v, ok, nil
}

func (c *memCache) PutSummary(_ context.Context, key string, value []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.putErr != nil {
		return c.putErr
	}
	if _, ok := c.m[key]; !ok {
		c.m[key] = value
	}
	return nil
}

func (c *memCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// fakeSummarizer counts calls and returns a fixed result.
type fakeSummarizer struct {
	calls atomic.Int32
	sum   Summary
	err   error
	delay time.Duration
}

func (f *fakeSummarizer) Summarize(ctx context.Context, a Article) (Summary, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return Summary{}, ctx.Err()
		}
	}
	if f.err != nil {
		return Summary{}, f.err
	}
	s := f.sum
	if s.Text != "" {
		s.Text += " " + a.Title
	}
	return s, nil
}

func TestWithCache(t *testing.T) {
	ctx := context.Background()
	model := &fakeSummarizer{sum: Summary{Text: "A model summary.", Summarizer: "openai", Model: "m", PromptTokens: 10, CompletionTokens: 5}}
	c := newMemCache()
	s := WithCache(model, c, "openai/m/v1")
	a := Article{Title: "T", Text: "Body."}

	first, err := s.Summarize(ctx, a)
	if err != nil || first.Cached {
		t.Fatalf("first call: %+v, %v", first, err)
	}
	// A new wrapper on the same cache stands for a restart.
	second, err := WithCache(model, c, "openai/m/v1").Summarize(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if got := model.calls.Load(); got != 1 {
		t.Fatalf("model called %d times, want 1", got)
	}
	if !second.Cached || second.Text != first.Text || second.PromptTokens != 10 {
		t.Fatalf("cached summary = %+v, want the first one marked cached", second)
	}
	// Other content or other settings are other keys.
	if _, err := s.Summarize(ctx, Article{Title: "T", Text: "Other body."}); err != nil {
		t.Fatal(err)
	}
	if _, err := WithCache(model, c, "openai/m/v2").Summarize(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := model.calls.Load(); got != 3 {
		t.Fatalf("model called %d times, want 3", got)
	}
}

func TestWithCacheDoesNotStoreFailuresOrFallbacks(t *testing.T) {
	ctx := context.Background()
	a := Article{Title: "T", Text: "Body."}
	c := newMemCache()

	failing := &fakeSummarizer{err: errors.New("model down")}
	if _, err := WithCache(failing, c, "k").Summarize(ctx, a); err == nil {
		t.Fatal("error was swallowed")
	}
	fb := &fakeSummarizer{sum: Summary{Text: "Stand-in.", Summarizer: NameExtractive, Fallback: true}}
	if _, err := WithCache(fb, c, "k").Summarize(ctx, a); err != nil {
		t.Fatal(err)
	}
	if c.len() != 0 {
		t.Fatalf("cache holds %d entries, want none", c.len())
	}
}

func TestWithCacheSurvivesCacheErrors(t *testing.T) {
	c := newMemCache()
	c.getErr = errors.New("disk gone")
	c.putErr = errors.New("disk gone")
	model := &fakeSummarizer{sum: Summary{Text: "Made anyway.", Summarizer: "openai"}}
	s, err := WithCache(model, c, "k").Summarize(context.Background(), Article{Text: "Body."})
	if err != nil || s.Text == "" {
		t.Fatalf("got %+v, %v; want the summary despite cache errors", s, err)
	}
}

func TestWithCacheConcurrentCallsShareOneCall(t *testing.T) {
	model := &fakeSummarizer{sum: Summary{Text: "Once.", Summarizer: "openai"}, delay: 50 * time.Millisecond}
	s := WithCache(model, newMemCache(), "k")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Summarize(context.Background(), Article{Text: "Same body."}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := model.calls.Load(); got != 1 {
		t.Fatalf("model called %d times for the same content, want 1", got)
	}
}

func TestWithFallback(t *testing.T) {
	ctx := context.Background()
	a := Article{Title: "Title", Text: "The mayor resigned on Friday. Nobody expected it."}
	ext := NewExtractive(Options{})
	tests := []struct {
		name         string
		primary      Summarizer
		wantName     string
		wantFallback bool
	}{
		{"primary works", &fakeSummarizer{sum: Summary{Text: "Model text.", Summarizer: "openai"}}, "openai", false},
		{"primary errors", &fakeSummarizer{err: errors.New("HTTP 500")}, NameExtractive, true},
		{"primary returns nothing", &fakeSummarizer{sum: Summary{Summarizer: "openai"}}, NameExtractive, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := WithFallback(tc.primary, ext, slog.New(slog.DiscardHandler)).Summarize(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if s.Summarizer != tc.wantName || s.Fallback != tc.wantFallback || s.Text == "" {
				t.Fatalf("got %+v, want summarizer %q fallback %v", s, tc.wantName, tc.wantFallback)
			}
		})
	}
}

func TestWithFallbackRetriesPrimaryAfterTransientFailure(t *testing.T) {
	ctx := context.Background()
	a := Article{Title: "T", Text: "The mayor resigned on Friday. Nobody expected it."}
	c := newMemCache()
	model := &fakeSummarizer{err: errors.New("HTTP 503")}
	ext := NewExtractive(Options{})
	s := WithFallback(WithCache(model, c, "openai/m"), WithCache(ext, c, ext.SettingsKey()), nil)

	got, err := s.Summarize(ctx, a)
	if err != nil || got.Summarizer != NameExtractive || !got.Fallback {
		t.Fatalf("during the outage: %+v, %v", got, err)
	}
	model.err = nil
	model.sum = Summary{Text: "Model summary.", Summarizer: "openai"}
	got, err = s.Summarize(ctx, a)
	if err != nil || got.Summarizer != "openai" {
		t.Fatalf("after the outage: %+v, %v; want the model's summary", got, err)
	}
	got, err = s.Summarize(ctx, a)
	if err != nil || !got.Cached || model.calls.Load() != 2 {
		t.Fatalf("third call: %+v, %v, %d model calls; want cached, 2 calls", got, err, model.calls.Load())
	}
}

func TestWithFallbackHonoursCancellationAndEmptyArticles(t *testing.T) {
	ext := NewExtractive(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	primary := &fakeSummarizer{err: context.Canceled}
	if _, err := WithFallback(primary, ext, nil).Summarize(ctx, Article{Text: "Some text."}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v, want context.Canceled", err)
	}
	if _, err := WithFallback(ext, ext, nil).Summarize(context.Background(), Article{}); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty: err = %v, want ErrEmpty", err)
	}
}

func TestCacheKey(t *testing.T) {
	base := CacheKey("s", Article{Title: "ab", Text: "c"})
	if base != CacheKey("s", Article{Title: "ab", Text: "c"}) {
		t.Fatal("key is not stable")
	}
	for _, other := range []string{
		CacheKey("s", Article{Title: "a", Text: "bc"}),
		CacheKey("t", Article{Title: "ab", Text: "c"}),
		CacheKey("s", Article{Title: "ab", Text: "c", Lang: "de"}),
	} {
		if other == base {
			t.Fatalf("distinct inputs share key %s", base)
		}
	}
}
