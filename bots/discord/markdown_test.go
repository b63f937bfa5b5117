package discord

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/store"
)

func p(spans ...store.Span) store.Block { return store.Block{Kind: store.BlockParagraph, Spans: spans} }

func TestRender(t *testing.T) {
	tests := []struct {
		name      string
		blocks    store.Body
		noPreview bool
		part, tot int
		want      string
	}{
		{"plain", store.Body{p(tx("Hello, world."))}, false, 0, 0, "Hello, world."},
		{"markdown escaped", store.Body{p(tx("2*3*4 is _not_ ~~struck~~ or ||hidden|| or `code` or \\"))}, false, 0, 0,
			`2\*3\*4 is \_not\_ \~\~struck\~\~ or \|\|hidden\|\| or \` + "`code\\`" + ` or \\`},
		{"mentions escaped", store.Body{p(tx("hey @everyone and @here, <@123> <@&9> <#5>"))}, false, 0, 0,
			`hey \@everyone and \@here, \<@123> \<@&9> \<#5>`},
		{"line-start syntax", store.Body{p(tx("# not a heading\n> not a quote\n- not a list\n1. not numbered\n-# not subtext"))}, false, 0, 0,
			"\\# not a heading\n\\> not a quote\n\\- not a list\n1\\. not numbered\n\\-# not subtext"},
		{"mid-line syntax kept", store.Body{p(tx("a - b > c # d 1. e"))}, false, 0, 0, "a - b > c # d 1. e"},
		{"bold italic code", store.Body{p(tx("a "), store.Span{Text: "bold", Bold: true}, tx(" "), store.Span{Text: "it", Italic: true}, tx(" "), store.Span{Text: "x:=1", Code: true})}, false, 0, 0,
			"a **bold** *it* `x:=1`"},
		{"adjacent styles nest", store.Body{p(store.Span{Text: "a", Bold: true}, store.Span{Text: "b", Bold: true, Italic: true}, store.Span{Text: "c", Bold: true})}, false, 0, 0,
			"**a*b*c**"},
		{"space outside markers", store.Body{p(store.Span{Text: "bold ", Bold: true}, tx("plain"))}, false, 0, 0, "**bold** plain"},
		{"link", store.Body{p(tx("see "), store.Span{Text: "the report", Href: "https://ex.com/a_(b)"})}, false, 0, 0,
			"see [the report](https://ex.com/a_%28b%29)"},
		{"link no preview", store.Body{p(store.Span{Text: "report", Href: "https://ex.com/r"})}, true, 0, 0, "[report](<https://ex.com/r>)"},
		{"link text is url", store.Body{p(store.Span{Text: "https://ex.com/r", Href: "https://ex.com/r"})}, true, 0, 0, "<https://ex.com/r>"},
		{"link text is other url", store.Body{p(store.Span{Text: "https://good.example", Href: "https://evil.example/"})}, false, 0, 0, "https://evil.example/"},
		{"javascript link dropped", store.Body{p(store.Span{Text: "click", Href: "javascript:alert(1)"})}, false, 0, 0, "click"},
		{"bare url kept whole", store.Body{p(tx("read https://ex.com/a_b*c now."))}, false, 0, 0, "read <https://ex.com/a_b*c> now."},
		{"bare url no preview", store.Body{p(tx("at https://ex.com/x."))}, true, 0, 0, "at <https://ex.com/x>."},
		{"headings", store.Body{
			{Kind: store.BlockHeading, Level: 1, Spans: []store.Span{{Text: "Title", Bold: true}}},
			{Kind: store.BlockHeading, Level: 2, Spans: []store.Span{tx("Sub")}},
			{Kind: store.BlockHeading, Level: 5, Spans: []store.Span{tx("Minor")}},
			p(tx("Text")),
		}, false, 0, 0, "# Title\n## Sub\n**Minor**\nText"},
		{"lists", store.Body{
			{Kind: store.BlockListItem, Spans: []store.Span{tx("one")}},
			{Kind: store.BlockListItem, Level: 1, Spans: []store.Span{tx("nested")}},
			{Kind: store.BlockListItem, Ordered: true, Index: 3, Spans: []store.Span{tx("- third")}},
			p(tx("after")),
		}, false, 0, 0, "- one\n  - nested\n3. \\- third\n\nafter"},
		{"quote", store.Body{{Kind: store.BlockQuote, Spans: []store.Span{tx("line one\nline two")}}}, false, 0, 0, "> line one\n> line two"},
		{"pre", store.Body{{Kind: store.BlockPre, Spans: []store.Span{tx("x := `a`\n```\n*y*")}}}, false, 0, 0, "```\nx := `a`\n`\u200b``\n*y*\n```"},
		{"code with backtick", store.Body{p(store.Span{Text: "a`b", Code: true})}, false, 0, 0, "`` a`b ``"},
		{"part marker", store.Body{p(tx("Body"))}, false, 2, 3, "Body\n\n-# (2/3)"},
		{"single part no marker", store.Body{p(tx("Body"))}, false, 1, 1, "Body"},
		{"empty blocks skipped", store.Body{p(tx("  ")), p(tx("x")), {Kind: store.BlockListItem}}, false, 0, 0, "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Render(bots.Message{Blocks: tc.blocks, NoPreview: tc.noPreview, Part: tc.part, Total: tc.tot})
			if got != tc.want {
				t.Errorf("Render:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func tx(s string) store.Span { return store.Span{Text: s} }

// TestRenderNeverPings checks that no hostile article text survives as a live mention or markup.
func TestRenderNeverPings(t *testing.T) {
	hostile := []string{"@everyone", "@here", "<@123456789012345678>", "<@!1>", "<@&2>", "<#3>", "</cmd:4>", "<t:0:R>", "<a:x:5>"}
	for _, h := range hostile {
		for _, span := range []store.Span{{Text: h}, {Text: h, Bold: true}, {Text: h, Href: "https://ex.com"}} {
			got := Render(bots.Message{Blocks: store.Body{p(span)}})
			if strings.Contains(got, "<") && !strings.Contains(got, `\<`) {
				t.Errorf("%q rendered as %q: unescaped <", h, got)
			}
			if strings.Contains(got, "@everyone") && !strings.Contains(got, `\@everyone`) ||
				strings.Contains(got, "@here") && !strings.Contains(got, `\@here`) {
				t.Errorf("%q rendered as %q: unescaped mass mention", h, got)
			}
		}
	}
}

// TestSplitArticleFitsLimit runs a long article through the shared splitter with the Discord
// measure: every part stays within 2000 characters and numbers itself.
func TestSplitArticleFitsLimit(t *testing.T) {
	var body store.Body
	for i := 0; i < 60; i++ {
		body = append(body, p(tx(strings.Repeat("Word_with *stars* and @everyone <@1> ~x~ ", 8))))
		if i%10 == 0 {
			body = append(body, store.Block{Kind: store.BlockHeading, Level: 2, Spans: []store.Span{tx("Section")}})
		}
	}
	story := store.Story{Title: "A *long* story", Byline: "R. Porter", URL: "https://news.example/long", Body: body}
	b := &Bot{cfg: Config{}}
	defaults(&b.cfg)
	msgs := bots.ArticleMessages(story, b.Limits())
	if len(msgs) < 2 {
		t.Fatalf("got %d messages, want several", len(msgs))
	}
	for i, m := range msgs {
		s := Render(m)
		if n := utf8.RuneCountInString(s); n > MaxContent {
			t.Errorf("part %d is %d characters", i+1, n)
		}
		if !strings.HasSuffix(s, "-# ("+strconv.Itoa(i+1)+"/"+strconv.Itoa(len(msgs))+")") {
			t.Errorf("part %d lacks its marker: ...%q", i+1, s[max(0, len(s)-20):])
		}
		if strings.Contains(strings.ReplaceAll(s, `\@everyone`, ""), "@everyone") {
			t.Errorf("part %d has an unescaped @everyone", i+1)
		}
	}
}

func TestEscapeWithin(t *testing.T) {
	long := strings.Repeat("a*b ", 2000)
	got := escapeWithin(long, 4096)
	if n := utf8.RuneCountInString(got); n > 4096 {
		t.Fatalf("escaped text is %d characters, want ≤ 4096", n)
	}
	if !strings.HasSuffix(got, "…") || strings.HasSuffix(strings.TrimSuffix(got, "…"), `\`) {
		t.Errorf("bad cut: ...%q", got[len(got)-12:])
	}
	if got := escapeWithin("short *one*", 4096); got != `short \*one\*` {
		t.Errorf("short text: %q", got)
	}
}

func TestHardSplit(t *testing.T) {
	s := strings.Repeat("word ", 1000) + strings.Repeat("x", 2500)
	parts := hardSplit(s, MaxContent)
	total := 0
	for _, part := range parts {
		if n := utf8.RuneCountInString(part); n > MaxContent || n == 0 {
			t.Errorf("part of %d characters", n)
		}
		total += len(strings.ReplaceAll(part, " ", ""))
	}
	if want := len(strings.ReplaceAll(s, " ", "")); total != want {
		t.Errorf("lost text: %d of %d non-space bytes kept", total, want)
	}
}
