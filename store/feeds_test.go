package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// feedTestStore opens a fresh database whose clock the test moves.
func feedTestStore(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "feeds.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	return s, &now
}

func TestEnsureFeed(t *testing.T) {
	ctx := context.Background()
	s, _ := feedTestStore(t)
	a, err := s.EnsureFeed(ctx, "https://example.com/feed", "Example")
	if err != nil {
		t.Fatal(err)
	}
	if a.URL != a.ConfigURL || !a.NeverPolled() || a.Disabled() || !a.NextPollAt.IsZero() {
		t.Fatalf("new feed = %+v", a)
	}
	if err := s.RecordFeedSuccess(ctx, a.ID, `"v1"`, "", "https://example.com/new", time.Time{}); err != nil {
		t.Fatal(err)
	}
	b, err := s.EnsureFeed(ctx, "https://example.com/feed", "Renamed")
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != a.ID || b.Name != "Renamed" || b.URL != "https://example.com/new" || b.ETag != `"v1"` {
		t.Fatalf("re-ensured feed lost state or name: %+v", b)
	}
	if _, err := s.EnsureFeed(ctx, " ", "x"); err == nil {
		t.Fatal("empty url accepted")
	}
	if _, err := s.GetFeed(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetFeed(999) = %v, want ErrNotFound", err)
	}
	if err := s.RecordFeedNotModified(ctx, 999, time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RecordFeedNotModified(999) = %v, want ErrNotFound", err)
	}
}

func TestFeedPollingState(t *testing.T) {
	ctx := context.Background()
	s, now := feedTestStore(t)
	a, _ := s.EnsureFeed(ctx, "https://a.example/feed", "A")
	b, _ := s.EnsureFeed(ctx, "https://b.example/feed", "B")

	due, err := s.DueFeeds(ctx, *now)
	if err != nil || len(due) != 2 {
		t.Fatalf("DueFeeds = %d feeds, %v; want both new feeds", len(due), err)
	}
	next := now.Add(15 * time.Minute)
	if err := s.RecordFeedSuccess(ctx, a.ID, `"e1"`, "Sat, 01 Mar 2025 11:00:00 GMT", "", next); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetFeed(ctx, a.ID)
	if got.NeverPolled() || got.ETag != `"e1"` || got.LastModified == "" || got.URL != a.ConfigURL || !got.NextPollAt.Equal(next) {
		t.Fatalf("after success: %+v", got)
	}
	due, _ = s.DueFeeds(ctx, *now)
	if len(due) != 1 || due[0].ID != b.ID {
		t.Fatalf("due after polling A = %+v, want only B", due)
	}
	due, _ = s.DueFeeds(ctx, next)
	if len(due) != 2 {
		t.Fatalf("due at next poll = %d, want 2", len(due))
	}

	// Failures count up, a success resets them, and the threshold disables.
	for i := 1; i <= 2; i++ {
		f, err := s.RecordFeedFailure(ctx, b.ID, "HTTP 500", next, 3)
		if err != nil {
			t.Fatal(err)
		}
		if f.Failures != i || f.Disabled() || f.LastError != "HTTP 500" {
			t.Fatalf("failure %d: %+v", i, f)
		}
	}
	if err := s.RecordFeedNotModified(ctx, b.ID, next); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.GetFeed(ctx, b.ID); f.Failures != 0 || f.LastError != "" {
		t.Fatalf("304 did not reset failures: %+v", f)
	}
	var f Feed
	for i := 0; i < 3; i++ {
		if f, err = s.RecordFeedFailure(ctx, b.ID, "parse: garbage", next, 3); err != nil {
			t.Fatal(err)
		}
	}
	if !f.Disabled() || !strings.Contains(f.DisabledReason, "3 consecutive failures") || !strings.Contains(f.DisabledReason, "parse: garbage") {
		t.Fatalf("not disabled after 3 failures: %+v", f)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.FeedsDisabled != 1 || len(st.FailingFeeds) != 1 || !strings.Contains(st.FailingFeeds[0].Error, "parse: garbage") {
		t.Fatalf("stats = %+v", st)
	}
	due, _ = s.DueFeeds(ctx, next.Add(time.Hour))
	if len(due) != 1 || due[0].ID != a.ID {
		t.Fatalf("disabled feed still due: %+v", due)
	}
	if err := s.EnableFeed(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.GetFeed(ctx, b.ID); f.Disabled() || f.Failures != 0 || f.DisabledReason != "" {
		t.Fatalf("enable: %+v", f)
	}
	due, _ = s.DueFeeds(ctx, *now)
	if len(due) != 1 || due[0].ID != b.ID {
		t.Fatalf("re-enabled feed not due now: %+v", due)
	}

	// disableAfter <= 0 never disables.
	for i := 0; i < 20; i++ {
		if f, err = s.RecordFeedFailure(ctx, b.ID, "x", next, 0); err != nil {
			t.Fatal(err)
		}
	}
	if f.Disabled() || f.Failures != 20 {
		t.Fatalf("disableAfter=0: %+v", f)
	}
	all, err := s.ListFeeds(ctx)
	if err != nil || len(all) != 2 || all[0].ID != a.ID {
		t.Fatalf("ListFeeds = %+v, %v", all, err)
	}
}

func TestStoryRefs(t *testing.T) {
	ctx := context.Background()
	s, _ := feedTestStore(t)
	st, _, err := s.UpsertStory(ctx, Story{Origin: "feed:1", GUID: "g1", URL: "https://news.example/a", Title: "A", ContentHash: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	want := StoryRef{ID: st.ID, Origin: "feed:1", GUID: "g1", ContentHash: "h1"}
	tests := []struct {
		name string
		get  func() (StoryRef, error)
		ok   bool
	}{
		{"by guid", func() (StoryRef, error) { return s.StoryRefByGUID(ctx, "feed:1", "g1") }, true},
		{"guid of another origin", func() (StoryRef, error) { return s.StoryRefByGUID(ctx, "feed:2", "g1") }, false},
		{"by url", func() (StoryRef, error) { return s.StoryRefByURL(ctx, "https://news.example/a") }, true},
		{"unknown url", func() (StoryRef, error) { return s.StoryRefByURL(ctx, "https://news.example/b") }, false},
		{"empty url", func() (StoryRef, error) { return s.StoryRefByURL(ctx, "") }, false},
	}
	for _, tt := range tests {
		got, err := tt.get()
		if tt.ok && (err != nil || got != want) {
			t.Errorf("%s = %+v, %v; want %+v", tt.name, got, err, want)
		}
		if !tt.ok && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s = %+v, %v; want ErrNotFound", tt.name, got, err)
		}
	}
}
