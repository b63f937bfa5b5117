package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// openTest opens a fresh database in a temp dir with a fixed, movable clock.
func openTest(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "herald.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	return s
}

func TestOpenMigratesOnceAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != LatestSchemaVersion() || v < 1 {
		t.Fatalf("version = %d, %v; want %d", v, err, LatestSchemaVersion())
	}
	var mode string
	if err := s.read.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	var fk int
	if err := s.write.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v", fk, err)
	}
	s.Close()
	s2, err := Open(path) // re-running migrations is a no-op
	if err != nil {
		t.Fatal(err)
	}
	var n int
	s2.read.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	migs, _ := loadMigrations()
	if n != len(migs) {
		t.Errorf("%d migration rows, want %d", n, len(migs))
	}
	s2.Close()
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.Exec(`INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), "upgrade Herald") {
		t.Fatalf("err = %v, want a refusal naming the upgrade", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Fatal("want error")
	}
}

func story(origin, guid, url, title, text string) Story {
	return Story{Origin: origin, GUID: guid, URL: url, Title: title, Body: BodyFromText(text),
		PublishedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
}

func TestUpsertStory(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	a, res, err := s.UpsertStory(ctx, story("feed:1", "g1", "https://n.example/a", "Talks end", "First paragraph.\n\nSecond one."))
	if err != nil || res != StoryCreated || a.ID == 0 {
		t.Fatalf("create: %v %v %+v", res, err, a)
	}
	if a.Text != "First paragraph.\n\nSecond one." || len(a.Body) != 2 || !a.HasFullText() {
		t.Errorf("stored story: %+v", a)
	}
	tests := []struct {
		name   string
		in     Story
		want   UpsertResult
		wantID int64
	}{
		{"same guid same content", story("feed:1", "g1", "https://n.example/a", "Talks end", "First paragraph.\n\nSecond one."), StoryUnchanged, a.ID},
		{"same url other feed", story("feed:2", "zz", "https://n.example/a", "Talks end", "First paragraph.\n\nSecond one."), StoryUnchanged, a.ID},
		{"changed content", story("feed:1", "g1", "https://n.example/a", "Talks end (updated)", "First paragraph.\n\nSecond one."), StoryUpdated, a.ID},
		{"new guid", story("feed:1", "g2", "https://n.example/b", "Other", "Text."), StoryCreated, 0},
		{"same guid other origin", story("push", "g1", "", "Pushed", "Text."), StoryCreated, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, res, err := s.UpsertStory(ctx, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if res != tc.want {
				t.Errorf("result = %v, want %v", res, tc.want)
			}
			if tc.wantID != 0 && got.ID != tc.wantID {
				t.Errorf("id = %d, want %d", got.ID, tc.wantID)
			}
		})
	}
	got, _ := s.GetStory(ctx, a.ID)
	if got.Title != "Talks end (updated)" {
		t.Errorf("update not stored: %q", got.Title)
	}
	if _, _, err := s.UpsertStory(ctx, Story{Title: "no identity"}); err == nil {
		t.Error("want error without origin/guid")
	}
	if _, err := s.GetStory(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetStory missing: %v", err)
	}
	if err := s.SetStorySummary(ctx, 9999, "x", "extractive", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetStorySummary missing: %v", err)
	}
	if err := s.SetStorySummary(ctx, a.ID, "Sum.", "openai", "m"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetStory(ctx, a.ID)
	if got.Summary != "Sum." || got.Summarizer != "openai" || got.SummaryModel != "m" {
		t.Errorf("summary: %+v", got)
	}
}

func TestSearchAndLatest(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for i, title := range []string{"Ceasefire talks in Paris", "Budget vote delayed", "Café owners protest"} {
		st := story("push", fmt.Sprint(i), "", title, "Body about "+title+".")
		st.PublishedAt = time.Date(2026, 11, 20+i, 0, 0, 0, 0, time.UTC)
		if _, _, err := s.UpsertStory(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		q    string
		want []string
	}{
		{"ceasefire", []string{"Ceasefire talks in Paris"}},
		{"PARIS talks", []string{"Ceasefire talks in Paris"}},
		{"cafe", []string{"Café owners protest"}}, // diacritics folded
		{"bud", []string{"Budget vote delayed"}},  // prefix on the last word
		{"body", []string{"Café owners protest", "Budget vote delayed", "Ceasefire talks in Paris"}},
		{`"unbalanced OR NEAR(`, nil},
		{"", nil},
		{"nothing-here", nil},
	}
	for _, tc := range tests {
		got, err := s.SearchStories(ctx, tc.q, 10)
		if err != nil {
			t.Errorf("search %q: %v", tc.q, err)
			continue
		}
		var titles []string
		for _, st := range got {
			titles = append(titles, st.Title)
		}
		if fmt.Sprint(titles) != fmt.Sprint(tc.want) {
			t.Errorf("search %q = %v, want %v", tc.q, titles, tc.want)
		}
	}
	latest, err := s.LatestStories(ctx, 2)
	if err != nil || len(latest) != 2 || latest[0].Title != "Café owners protest" {
		t.Errorf("latest = %v, %v", latest, err)
	}
	rec, err := s.RecentStoryTitles(ctx, "vote", 5)
	if err != nil || len(rec) != 1 {
		t.Errorf("recent titles = %v, %v", rec, err)
	}
	// Editing a story keeps the index in step.
	st, _ := s.StoryByGUID(ctx, "push", "1")
	st.Title, st.Body, st.Text, st.ContentHash = "Budget passes", BodyFromText("Now passed."), "", ""
	if _, _, err := s.UpsertStory(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SearchStories(ctx, "delayed", 5); len(got) != 0 {
		t.Errorf("stale index entry: %v", got)
	}
	if got, _ := s.SearchStories(ctx, "passes", 5); len(got) != 1 {
		t.Errorf("new title not indexed: %v", got)
	}
}

func TestSummaryCache(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, ok, err := s.GetSummary(ctx, "k"); ok || err != nil {
		t.Fatalf("empty cache: %v %v", ok, err)
	}
	if err := s.PutSummary(ctx, "k", []byte(`{"text":"a","prompt_tokens":10,"completion_tokens":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSummary(ctx, "k", []byte(`{"text":"b"}`)); err != nil {
		t.Fatal(err)
	}
	v, ok, err := s.GetSummary(ctx, "k")
	if !ok || err != nil || !strings.Contains(string(v), `"a"`) {
		t.Errorf("got %s %v %v; first value must win", v, ok, err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.SummaryPromptTokens != 10 || st.SummaryCompletionTokens != 3 || st.SummariesCached != 1 {
		t.Errorf("token stats: %+v", st)
	}
}

// TestConcurrentWritersAndReaders hammers the store from many goroutines; a single
// "database is locked" fails it.
func TestConcurrentWritersAndReaders(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for w := 0; w < 8; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				st := story("push", fmt.Sprintf("%d-%d", w, i), "", fmt.Sprintf("Story %d %d", w, i), "Words in a body.")
				if _, _, err := s.UpsertStory(ctx, st); err != nil {
					errc <- err
					return
				}
				if err := s.PutSummary(ctx, fmt.Sprintf("%d-%d", w, i), []byte(`{}`)); err != nil {
					errc <- err
					return
				}
			}
		}(w)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := s.SearchStories(ctx, "words", 5); err != nil {
					errc <- err
					return
				}
				if _, err := s.Stats(ctx); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	st, _ := s.Stats(ctx)
	if st.Stories != 400 {
		t.Errorf("stories = %d, want 400", st.Stories)
	}
}

func TestSnapshotTo(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	s.UpsertStory(ctx, story("push", "1", "", "Kept", "Text."))
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := s.SnapshotTo(ctx, dst); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.LatestStories(ctx, 5); err != nil || len(got) != 1 {
		t.Errorf("copy has %v, %v", got, err)
	}
}

func TestBodyRoundTrip(t *testing.T) {
	b := Body{
		{Kind: BlockHeading, Level: 2, Spans: []Span{{Text: "Head"}}},
		{Kind: BlockParagraph, Spans: []Span{{Text: "A "}, {Text: "link", Href: "https://x.example"}, {Text: " and ", Bold: true}}},
		{Kind: BlockListItem, Ordered: true, Index: 1, Spans: []Span{{Text: "one"}}},
	}
	enc, err := MarshalBody(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalBody(enc)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(b) {
		t.Errorf("round trip: %v %v", got, err)
	}
	if pt := b.PlainText(); pt != "Head\n\nA link and\n\none" {
		t.Errorf("PlainText = %q", pt)
	}
	if e, _ := MarshalBody(nil); e != "" {
		t.Errorf("empty body encodes to %q", e)
	}
}

func TestStatsNamesUnreachableChannels(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.EnsureChannel(ctx, "telegram", "@news"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkChannelUnreachable(ctx, "telegram", "@news", "bot is not a member of the channel"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ChannelsUnreachable != 1 || len(st.UnreachableChannels) != 1 || st.UnreachableChannels[0].Name != "@news" ||
		!strings.Contains(st.UnreachableChannels[0].Reason, "not a member") || st.UnreachableChannels[0].Since.IsZero() {
		t.Errorf("stats: %+v", st.UnreachableChannels)
	}
}
