package discord

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

func realStories(t testing.TB) []store.Story {
	f, err := os.Open(testutil.SharedPath(t, "data", "summaries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []store.Story
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var rec struct{ ID, Title, Text string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		title := rec.Title
		if title == "" {
			title = rec.ID
		}
		out = append(out, store.Story{Title: title, URL: "https://news.example/" + rec.ID, Body: store.BodyFromText(rec.Text)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRealArticlesFitDiscord splits and renders 100 real news articles as full-article DMs:
// every piece sent must be within Discord's 2000 characters.
func TestRealArticlesFitDiscord(t *testing.T) {
	stories := realStories(t)
	b := &Bot{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	defaults(&b.cfg)
	var msgs, pieces, over, longest int
	for _, s := range stories {
		parts := bots.ArticleMessages(s, b.Limits())
		msgs += len(parts)
		for _, m := range parts {
			if n := Measure(m); n > MaxContent {
				over++
			}
			for _, c := range b.contents(m) {
				pieces++
				n := utf8.RuneCountInString(c)
				longest = max(longest, n)
				if n > MaxContent {
					t.Errorf("story %q: a piece of %d characters", s.Title, n)
				}
			}
		}
	}
	t.Logf("%d articles → %d messages (%.2f per article), %d pieces sent, longest %d characters; %d messages over the limit after the shared splitter",
		len(stories), msgs, float64(msgs)/float64(len(stories)), pieces, longest, over)
}

func BenchmarkRenderRealArticles(b *testing.B) {
	stories := realStories(b)
	l := bots.Limits{MaxText: MaxContent, Measure: Measure}
	var all []bots.Message
	bytes := 0
	for _, s := range stories {
		all = append(all, bots.ArticleMessages(s, l)...)
		bytes += len(s.Body.PlainText())
	}
	b.SetBytes(int64(bytes))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, m := range all {
			_ = Render(m)
		}
	}
}

func BenchmarkRenderSynthetic(b *testing.B) {
	para := store.Block{Kind: store.BlockParagraph, Spans: []store.Span{
		{Text: "Plain text with *stars* and _underscores_ and @everyone, "},
		{Text: "bold words", Bold: true}, {Text: " and "}, {Text: "a link", Href: "https://news.example/a_(b)"},
		{Text: " then https://news.example/bare_url. "}, {Text: "code()", Code: true},
	}}
	m := bots.Message{Blocks: store.Body{para, para, para, para, para}, NoPreview: true, Part: 1, Total: 2}
	b.SetBytes(int64(len(strings.Repeat(para.Text(), 5))))
	for i := 0; i < b.N; i++ {
		_ = Render(m)
	}
}
