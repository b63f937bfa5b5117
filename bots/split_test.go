package bots

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

// spTelegramMeasure approximates the Telegram adapter: UTF-16 units of the text after entity parsing,
// blocks separated by blank lines, list bullets, and a "(p/t)" line when numbered.
func spTelegramMeasure(m Message) int {
	n := 0
	for i, b := range m.Blocks {
		if i > 0 {
			n += 2
		}
		if b.Kind == store.BlockListItem {
			n += 2
		}
		n += len(utf16.Encode([]rune(b.Text())))
	}
	if m.Total > 1 {
		n += len(fmt.Sprintf("\n\n(%d/%d)", m.Part, m.Total))
	}
	return n
}

// spDiscordMeasure approximates the Discord adapter: characters of the markdown content.
func spDiscordMeasure(m Message) int {
	var sb strings.Builder
	for i, b := range m.Blocks {
		if i > 0 {
			sb.WriteString("\n\n")
		}
		switch b.Kind {
		case store.BlockHeading:
			sb.WriteString("## ")
		case store.BlockListItem:
			sb.WriteString("- ")
		case store.BlockQuote:
			sb.WriteString("> ")
		case store.BlockPre:
			sb.WriteString("```\n")
		}
		for _, s := range b.Spans {
			t := s.Text
			if s.Code {
				t = "`" + t + "`"
			}
			if s.Bold {
				t = "**" + t + "**"
			}
			if s.Italic {
				t = "_" + t + "_"
			}
			if s.Href != "" {
				t = "[" + t + "](" + s.Href + ")"
			}
			sb.WriteString(t)
		}
		if b.Kind == store.BlockPre {
			sb.WriteString("\n```")
		}
	}
	if m.Total > 1 {
		fmt.Fprintf(&sb, "\n-# (%d/%d)", m.Part, m.Total)
	}
	return utf8.RuneCountInString(sb.String())
}

func spTelegram(max int) Limits { return Limits{MaxText: max, Measure: spTelegramMeasure} }
func spDiscord(max int) Limits  { return Limits{MaxText: max, Measure: spDiscordMeasure} }

func spPara(spans ...store.Span) store.Block {
	return store.Block{Kind: store.BlockParagraph, Spans: spans}
}

func spTexts(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		var parts []string
		for _, b := range m.Blocks {
			parts = append(parts, b.Text())
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

func TestSplitCases(t *testing.T) {
	sentences := "One two three. Four five six. Seven eight nine. Ten eleven twelve."
	tests := []struct {
		name  string
		body  store.Body
		l     Limits
		want  []string // texts of the parts, blocks joined by |
		check func(t *testing.T, msgs []Message)
	}{
		{name: "fits in one message, not numbered", body: store.BodyFromText("Short.\n\nAlso short."), l: spTelegram(100),
			want: []string{"Short.|Also short."}},
		{name: "paragraph boundaries first", body: store.BodyFromText("Alpha beta gamma.\n\nDelta epsilon zeta.\n\nEta."), l: spTelegram(36),
			want: []string{"Alpha beta gamma.", "Delta epsilon zeta.|Eta."}},
		{name: "sentence boundaries within a paragraph", body: store.Body{spPara(store.Span{Text: sentences})}, l: spTelegram(40),
			want: []string{"One two three. Four five six.", "Seven eight nine.", "Ten eleven twelve."}},
		{name: "word boundaries without sentences", body: store.BodyFromText("alpha beta gamma delta epsilon zeta eta theta"), l: spTelegram(24),
			want: []string{"alpha beta gamma", "delta epsilon", "zeta eta theta"}},
		{name: "CJK breaks between characters", body: store.BodyFromText("东京是日本的首都也是最大的城市人口众多"), l: spTelegram(16),
			want: []string{"东京是日本的首都也", "是最大的城市人口众", "多"}},
		{name: "unsplittable word cut between graphemes", body: store.BodyFromText(strings.Repeat("👍🏽", 10)), l: spTelegram(20),
			want: []string{strings.Repeat("👍🏽", 3), strings.Repeat("👍🏽", 3), strings.Repeat("👍🏽", 3), "👍🏽"}},
		{name: "a link is never cut", body: store.Body{spPara(store.Span{Text: "Read more at "}, store.Span{Text: "the full report", Href: "https://e.x/r"}, store.Span{Text: " today"})},
			l: spTelegram(30), want: []string{"Read more at", "the full report today"}},
		{name: "a cut span keeps its formatting", body: store.Body{spPara(store.Span{Text: "bold words here and more bold words", Bold: true})}, l: spTelegram(26),
			want: []string{"bold words here and", "more bold words"},
			check: func(t *testing.T, msgs []Message) {
				for _, m := range msgs {
					if !m.Blocks[0].Spans[0].Bold {
						t.Errorf("part %d lost bold", m.Part)
					}
				}
			}},
		{name: "a long block starts in the current message", body: store.Body{
			{Kind: store.BlockHeading, Level: 1, Spans: []store.Span{{Text: "Title"}}},
			spPara(store.Span{Text: sentences})}, l: spTelegram(45),
			want: []string{"Title|One two three. Four five six.", "Seven eight nine. Ten eleven twelve."}},
		{name: "preformatted text cut at lines", body: store.Body{{Kind: store.BlockPre, Spans: []store.Span{{Text: "line one\n  line two\n  line three"}}}}, l: spTelegram(30),
			want: []string{"line one\n  line two", "  line three"}},
		{name: "no measure: one message", body: store.BodyFromText(strings.Repeat("word ", 2000)), l: Limits{},
			want: []string{strings.TrimSpace(strings.Repeat("word ", 2000))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs := Split(tc.body, tc.l)
			if got := spTexts(msgs); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("parts\n got %q\nwant %q", got, tc.want)
			}
			spCheck(t, tc.body, tc.l, msgs)
			if tc.check != nil {
				tc.check(t, msgs)
			}
		})
	}
}

// spCheck verifies Split's promises for any input: numbering, every part within the limit, the text
// and its formatting preserved except whitespace at cuts, and cuts only at grapheme boundaries and
// never inside a link shorter than a third of a message.
func spCheck(t *testing.T, body store.Body, l Limits, msgs []Message) {
	t.Helper()
	if len(msgs) > 1 {
		for i, m := range msgs {
			if m.Part != i+1 || m.Total != len(msgs) {
				t.Fatalf("part %d numbered %d/%d", i+1, m.Part, m.Total)
			}
		}
	}
	for i, m := range msgs {
		if len(m.Blocks) == 0 {
			t.Fatalf("part %d is empty", i+1)
		}
		if l.Measure != nil && l.MaxText > 0 && l.Measure(m) > l.MaxText {
			t.Fatalf("part %d measures %d > %d", i+1, l.Measure(m), l.MaxText)
		}
	}
	var out []store.Block
	for _, m := range msgs {
		out = append(out, m.Blocks...)
	}
	j := 0
	for bi, ob := range body {
		text := ob.Text()
		bounds := map[int]bool{0: true, len(text): true}
		state, pos, rest := -1, 0, text
		for len(rest) > 0 {
			var c string
			c, rest, _, state = uniseg.StepString(rest, state)
			pos += len(c)
			bounds[pos] = true
		}
		spanAt := make([]int, len(text))
		spanStart := make([]int, len(ob.Spans))
		pos = 0
		for si, s := range ob.Spans {
			spanStart[si] = pos
			for k := 0; k < len(s.Text); k++ {
				spanAt[pos+k] = si
			}
			pos += len(s.Text)
		}
		cursor := 0
		for strings.TrimSpace(text[cursor:]) != "" {
			if j >= len(out) {
				t.Fatalf("block %d: text after offset %d missing from the parts", bi, cursor)
			}
			pb := out[j]
			j++
			if pb.Kind != ob.Kind || pb.Level != ob.Level || pb.Index != ob.Index {
				t.Fatalf("block %d: piece kind %s/%d, want %s/%d", bi, pb.Kind, pb.Level, ob.Kind, ob.Level)
			}
			pt := pb.Text()
			idx := strings.Index(text[cursor:], pt)
			if idx < 0 || pt == "" || strings.TrimFunc(text[cursor:cursor+idx], unicode.IsSpace) != "" {
				t.Fatalf("block %d: piece %q is not the next text after offset %d", bi, pt, cursor)
			}
			a, b := cursor+idx, cursor+idx+len(pt)
			for _, cut := range []int{a, b} {
				if !bounds[cut] {
					t.Fatalf("block %d: cut at %d inside a grapheme cluster", bi, cut)
				}
				if cut > 0 && cut < len(text) {
					if s := ob.Spans[spanAt[cut]]; s.Href != "" && spanAt[cut-1] == spanAt[cut] && l.Measure != nil && len(s.Text) < l.MaxText/3 &&
						strings.TrimSpace(text[spanStart[spanAt[cut]]:cut]) != "" && strings.TrimSpace(text[cut:spanStart[spanAt[cut]]+len(s.Text)]) != "" {
						t.Fatalf("block %d: cut at %d inside link %q", bi, cut, s.Text)
					}
				}
			}
			p := a
			for _, s := range pb.Spans {
				if s.Text == "" {
					t.Fatalf("block %d: empty span", bi)
				}
				orig := ob.Spans[spanAt[p]]
				if spanAt[p+len(s.Text)-1] != spanAt[p] || s.Href != orig.Href || s.Bold != orig.Bold || s.Italic != orig.Italic || s.Code != orig.Code {
					t.Fatalf("block %d: span %q does not keep its source span's text and formatting", bi, s.Text)
				}
				p += len(s.Text)
			}
			cursor = b
		}
	}
	if j != len(out) {
		t.Fatalf("%d extra pieces", len(out)-j)
	}
}

var spWords = []string{
	"the", "news", "of", "today", "Zürich", "naïve", "café", "e\u0301te\u0301", "東京", "今天天气很好。", "これは日本語です。",
	"👩\u200d👩\u200d👧\u200d👦", "🇺🇦", "👍🏽", "😀", "end.", "Hello!", "Why?", "Dr.", "“quoted.”", "مرحبا", "(aside)", "3.14", "—",
	"Ελλάδα", "한국어", "x", "verylongwordwithoutanybreaks",
}

func spRandomBody(r *rand.Rand, maxText int) store.Body {
	kinds := []store.BlockKind{store.BlockParagraph, store.BlockParagraph, store.BlockParagraph, store.BlockHeading, store.BlockListItem, store.BlockQuote, store.BlockPre}
	words := func(n int, sep string) string {
		var sb strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 {
				sb.WriteString(sep)
			}
			if r.Intn(80) == 0 {
				// A word longer than a message.
				w := spWords[r.Intn(len(spWords))]
				sb.WriteString(strings.Repeat(w, (maxText+r.Intn(maxText))/utf8.RuneCountInString(w)+1))
				continue
			}
			sb.WriteString(spWords[r.Intn(len(spWords))])
		}
		return sb.String()
	}
	var body store.Body
	link := 0
	for i, n := 0, 1+r.Intn(12); i < n; i++ {
		b := store.Block{Kind: kinds[r.Intn(len(kinds))]}
		if b.Kind == store.BlockHeading {
			b.Level = 1 + r.Intn(3)
		}
		if b.Kind == store.BlockListItem {
			b.Ordered, b.Index = true, i+1
		}
		sep := " "
		if b.Kind == store.BlockPre {
			sep = "\n"
		}
		for k, ns := 0, 1+r.Intn(8); k < ns; k++ {
			s := store.Span{Text: words(1+r.Intn(60), sep), Bold: r.Intn(4) == 0, Italic: r.Intn(5) == 0, Code: r.Intn(8) == 0}
			if r.Intn(6) == 0 {
				link++
				s = store.Span{Text: words(1+r.Intn(4), " "), Href: fmt.Sprintf("https://e.x/%d", link), Bold: r.Intn(3) == 0}
			}
			if k > 0 && r.Intn(3) > 0 {
				s.Text = sep + s.Text
			}
			b.Spans = append(b.Spans, s)
		}
		body = append(body, b)
	}
	return body
}

func TestSplitProperties(t *testing.T) {
	seeds := int64(120)
	if s := os.Getenv("SPLIT_SEEDS"); s != "" {
		fmt.Sscan(s, &seeds)
	}
	for seed := int64(1); seed <= seeds; seed++ {
		start := time.Now()
		r := rand.New(rand.NewSource(seed))
		max := []int{60, 200, 500, 2000, 4096}[r.Intn(5)]
		body := spRandomBody(r, max)
		for _, l := range []Limits{spTelegram(max), spDiscord(max)} {
			msgs := Split(body, l)
			t.Run(fmt.Sprintf("seed%d/max%d", seed, max), func(t *testing.T) { spCheck(t, body, l, msgs) })
		}
		if os.Getenv("SPLIT_SEEDS") != "" {
			t.Logf("seed %d max %d: %s", seed, max, time.Since(start))
		}
	}
}

func TestSplitManyParts(t *testing.T) {
	body := store.BodyFromText(strings.Repeat("Some words in a sentence. ", 400))
	l := spTelegram(60)
	msgs := Split(body, l)
	if len(msgs) < 100 {
		t.Fatalf("%d parts; want over 99 to exercise the wider marker", len(msgs))
	}
	spCheck(t, body, l, msgs)
}

func TestSplitFixtureArticle(t *testing.T) {
	raw, err := os.ReadFile(testutil.SharedPath(t, "fixtures", "paywalled-article.txt"))
	if err != nil {
		t.Skipf("fixture article not available (../shared/fixtures/paywalled-article.txt): %v", err)
	}
	st := store.Story{ID: 1, Title: "Fixture", URL: "https://example.com/a", Body: store.BodyFromText(string(raw))}
	// The golden file records the shape of each split (never the publisher's text): per part, its
	// blocks, its measured length, and how its first and last blocks relate to the source paragraphs.
	var golden strings.Builder
	for _, l := range []Limits{spTelegram(4096), spDiscord(2000), spTelegram(700), spDiscord(300)} {
		msgs := ArticleMessages(st, l)
		name := "telegram"
		if l.Measure(Message{Blocks: store.Body{spPara(store.Span{Text: "x", Bold: true})}}) > 1 {
			name = "discord"
		}
		fmt.Fprintf(&golden, "%s max %d: %d parts\n", name, l.MaxText, len(msgs))
		for _, m := range msgs {
			fmt.Fprintf(&golden, "  part %d/%d: %d blocks, length %d\n", m.Part, m.Total, len(m.Blocks), l.Measure(m))
		}
		if l.MaxText < 1000 && len(msgs) < 2 {
			t.Fatalf("limit %d: %d parts", l.MaxText, len(msgs))
		}
		for _, m := range msgs {
			if !m.NoPreview {
				t.Fatal("article part without NoPreview")
			}
		}
		spCheck(t, ArticleBlocks(st), l, msgs)
	}
	path := filepath.Join("testdata", "split_fixture.golden")
	if *spUpdate {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-split to create it)", err)
	}
	if golden.String() != string(want) {
		t.Fatalf("split of the fixture changed (run with -update-split if intended):\n got:\n%s\nwant:\n%s", golden.String(), want)
	}
}

var spUpdate = flag.Bool("update-split", false, "rewrite bots/testdata/split_fixture.golden")

func BenchmarkSplitLongArticle(b *testing.B) {
	r := rand.New(rand.NewSource(7))
	var body store.Body
	for len(body) < 60 {
		body = append(body, spRandomBody(r, 4096)...)
	}
	l := spTelegram(4096)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Split(body, l)
	}
}
