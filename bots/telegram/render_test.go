package telegram

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-telegram/bot/models"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/bots/telegram/telegramtest"
	"github.com/heraldnews/herald/store"
)

func p(spans ...store.Span) store.Block {
	return store.Block{Kind: store.BlockParagraph, Spans: spans}
}

func TestRenderMessage(t *testing.T) {
	tests := []struct {
		name string
		msg  bots.Message
		want string
	}{
		{"escaping", bots.Message{Blocks: store.Body{p(store.Span{Text: `a < b & "c" > d's`})}},
			`a &lt; b &amp; &quot;c&quot; &gt; d's`},
		{"markup in text is text", bots.Message{Blocks: store.Body{p(store.Span{Text: "<b>not bold</b> &amp;"})}},
			`&lt;b&gt;not bold&lt;/b&gt; &amp;amp;`},
		{"bold italic link", bots.Message{Blocks: store.Body{p(store.Span{Text: "x", Bold: true, Italic: true, Href: `https://e.org/?a=1&b="2"`})}},
			`<b><i><a href="https://e.org/?a=1&amp;b=&quot;2&quot;">x</a></i></b>`},
		{"unsafe link dropped", bots.Message{Blocks: store.Body{p(store.Span{Text: "click", Href: "javascript:alert(1)"})}},
			`click`},
		{"relative link dropped", bots.Message{Blocks: store.Body{p(store.Span{Text: "here", Href: "/path"})}},
			`here`},
		{"code", bots.Message{Blocks: store.Body{p(store.Span{Text: "x := a<b", Code: true, Bold: true})}},
			`<code>x := a&lt;b</code>`},
		{"code link is a link", bots.Message{Blocks: store.Body{p(store.Span{Text: "pkg", Code: true, Href: "https://go.dev"})}},
			`<a href="https://go.dev">pkg</a>`},
		{"heading", bots.Message{Blocks: store.Body{{Kind: store.BlockHeading, Level: 2, Spans: []store.Span{
			{Text: "Bold ", Bold: true}, {Text: "code", Code: true}, {Text: " & more", Italic: true}}}}},
			`<b>Bold code<i> &amp; more</i></b>`},
		{"lists", bots.Message{Blocks: store.Body{
			{Kind: store.BlockListItem, Spans: []store.Span{{Text: "one"}}},
			{Kind: store.BlockListItem, Level: 1, Spans: []store.Span{{Text: "nested"}}},
			{Kind: store.BlockListItem, Ordered: true, Index: 2, Spans: []store.Span{{Text: "two"}}},
			p(store.Span{Text: "after"}),
		}}, "• one\n    ◦ nested\n2. two\n\nafter"},
		{"quote and pre", bots.Message{Blocks: store.Body{
			{Kind: store.BlockQuote, Spans: []store.Span{{Text: "said "}, {Text: "this", Bold: true}}},
			{Kind: store.BlockPre, Spans: []store.Span{{Text: "if a < b && c {", Bold: true}, {Text: "\n}"}}},
		}}, "<blockquote>said <b>this</b></blockquote>\n\n<pre>if a &lt; b &amp;&amp; c {\n}</pre>"},
		{"empty blocks skipped", bots.Message{Blocks: store.Body{p(), p(store.Span{Text: "x"}), p(store.Span{Text: "  "}), p(store.Span{Text: "y"})}},
			"x\n\ny"},
		{"part marker", bots.Message{Blocks: store.Body{p(store.Span{Text: "text"})}, Part: 2, Total: 3},
			"text\n\n(2/3)"},
		{"emoji and cyrillic", bots.Message{Blocks: store.Body{p(store.Span{Text: "🚋 Шелтер"})}},
			"🚋 Шелтер"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := renderMessage(tt.msg)
			if got := r.HTML(); got != tt.want {
				t.Fatalf("html:\n got %q\nwant %q", got, tt.want)
			}
			// The fake server's independent parser must accept the HTML and count what Measure counts.
			plain, err := telegramtest.ParseHTML(r.HTML())
			if err != nil {
				t.Fatalf("invalid Telegram HTML: %v", err)
			}
			if got, want := measure(tt.msg), telegramtest.UTF16Len(plain); got != want {
				t.Errorf("measure = %d, Telegram counts %d (%q)", got, want, plain)
			}
		})
	}
}

func TestMeasureCountsUTF16(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"abc", 3},
		{"a&b", 3},
		{"é", 1},
		{"🚋", 2},
		{"  padded  ", 6},
		{"日本語", 3},
	}
	for _, tt := range tests {
		if got := measure(bots.Message{Blocks: bots.Text(tt.text)}); got != tt.want {
			t.Errorf("measure(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	b := &Bot{username: "HeraldTestBot"}
	tests := []struct {
		text      string
		cmd, args string
		isCmd     bool
	}{
		{"/start ABCD-EFGH", "start", "ABCD-EFGH", true},
		{"/start story_12", "start", "story_12", true},
		{"/Link@heraldtestbot  k7q-2mx ", "link", "k7q-2mx", true},
		{"/link@OtherBot code", "", "", true},
		{"/search café 🚋 & more", "search", "café 🚋 & more", true},
		{"/help", "help", "", true},
		{"hello /start", "", "", false},
		{"just text", "", "", false},
	}
	for _, tt := range tests {
		u := telegramtest.TextUpdate(1, "private", 1, tt.text)
		if strings.HasPrefix(tt.text, "hello") {
			u.Message.Entities = []models.MessageEntity{{Type: models.MessageEntityTypeBotCommand, Offset: 6, Length: 6}}
		}
		cmd, args, isCmd := b.parseCommand(u.Message)
		if cmd != tt.cmd || args != tt.args || isCmd != tt.isCmd {
			t.Errorf("parseCommand(%q) = %q, %q, %v; want %q, %q, %v", tt.text, cmd, args, isCmd, tt.cmd, tt.args, tt.isCmd)
		}
	}
}

func TestRedact(t *testing.T) {
	b := &Bot{token: "123456:SECRETsecret_-42"}
	tests := []struct{ in, want string }{
		{`Post "https://api.telegram.org/bot123456:SECRETsecret_-42/sendMessage": EOF`, `Post "https://api.telegram.org/bot<redacted>/sendMessage": EOF`},
		{"token 123456:SECRETsecret_-42 leaked", "token <redacted> leaked"},
		{"other bot999:abcDEF/getMe", "other bot<redacted>/getMe"},
	}
	for _, tt := range tests {
		if got := b.redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFitCard(t *testing.T) {
	card := bots.StoryCard{Title: "T", Summary: strings.Repeat("word & <word> ", 200), URL: "https://example.org/a"}
	r, ok := fitCard(card, MaxCaption)
	if !ok || r.Len() > MaxCaption || r.Len() < MaxCaption-30 {
		t.Fatalf("fitCard: ok=%v len=%d, want close to %d", ok, r.Len(), MaxCaption)
	}
	if _, err := telegramtest.ParseHTML(r.HTML()); err != nil {
		t.Fatalf("invalid HTML: %v", err)
	}
	if !strings.Contains(r.plain.String(), "…") {
		t.Errorf("shortened summary has no ellipsis")
	}
	if _, ok := fitCard(bots.StoryCard{Title: strings.Repeat("x", 2000)}, MaxCaption); ok {
		t.Errorf("a title longer than the limit fits")
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"one two three four", 12, "one two…"},
		{"ééééé", 3, "ééé…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// loadArticle reads the test article, written in a small Markdown subset, as a store.Body.
func loadArticle(t testing.TB) (title string, body store.Body) {
	t.Helper()
	data, err := os.ReadFile("testdata/long_article.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var para []string
	flush := func() {
		if len(para) > 0 {
			body = append(body, p(inline(strings.Join(para, " "))...))
			para = nil
		}
	}
	ordered := regexp.MustCompile(`^(\d+)\. (.*)$`)
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimLeft(line, " ")
		level := (len(line) - len(trimmed)) / 4
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "# "):
			flush()
			title = line[2:]
		case strings.HasPrefix(line, "## "):
			flush()
			body = append(body, store.Block{Kind: store.BlockHeading, Level: 2, Spans: inline(line[3:])})
		case strings.HasPrefix(trimmed, "- "):
			flush()
			body = append(body, store.Block{Kind: store.BlockListItem, Level: level, Spans: inline(trimmed[2:])})
		case ordered.MatchString(line):
			flush()
			m := ordered.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[1])
			body = append(body, store.Block{Kind: store.BlockListItem, Ordered: true, Index: n, Spans: inline(m[2])})
		case strings.HasPrefix(line, "> "):
			flush()
			body = append(body, store.Block{Kind: store.BlockQuote, Spans: inline(line[2:])})
		case line == "```":
			flush()
			var pre []string
			for i++; i < len(lines) && lines[i] != "```"; i++ {
				pre = append(pre, lines[i])
			}
			body = append(body, store.Block{Kind: store.BlockPre, Spans: []store.Span{{Text: strings.Join(pre, "\n")}}})
		default:
			para = append(para, line)
		}
	}
	flush()
	return title, body
}

var inlineRE = regexp.MustCompile("\\*\\*([^*]+)\\*\\*|_([^_]+)_|`([^`]+)`|\\[([^\\]]+)\\]\\(([^)]+)\\)")

// inline turns **bold**, _italic_, `code` and [text](url) into spans.
func inline(s string) []store.Span {
	var out []store.Span
	last := 0
	for _, m := range inlineRE.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > last {
			out = append(out, store.Span{Text: s[last:m[0]]})
		}
		switch {
		case m[2] >= 0:
			out = append(out, store.Span{Text: s[m[2]:m[3]], Bold: true})
		case m[4] >= 0:
			out = append(out, store.Span{Text: s[m[4]:m[5]], Italic: true})
		case m[6] >= 0:
			out = append(out, store.Span{Text: s[m[6]:m[7]], Code: true})
		default:
			out = append(out, store.Span{Text: s[m[8]:m[9]], Href: s[m[10]:m[11]]})
		}
		last = m[1]
	}
	if last < len(s) {
		out = append(out, store.Span{Text: s[last:]})
	}
	return out
}

func BenchmarkRenderArticle(b *testing.B) {
	_, body := loadArticle(b)
	msg := bots.Message{Blocks: body, Part: 1, Total: 2}
	b.ReportAllocs()
	for b.Loop() {
		r := renderMessage(msg)
		_ = r.Len()
	}
}

// BenchmarkArticleMessages splits the test article (doubled) with Telegram's Measure, as
// the dispatcher does for every full-article DM.
func BenchmarkArticleMessages(b *testing.B) {
	title, body := loadArticle(b)
	story := store.Story{Title: title, URL: "https://example.org/n4", Body: append(slices.Clone(body), body...)}
	limits := bots.Limits{MaxText: MaxText, Measure: measure}
	b.ReportAllocs()
	for b.Loop() {
		if len(bots.ArticleMessages(story, limits)) < 2 {
			b.Fatal("not split")
		}
	}
}
