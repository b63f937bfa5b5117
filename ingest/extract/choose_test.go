package extract

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldnews/herald/store"
	"golang.org/x/net/html"
)

func body(paras ...string) store.Body { return store.BodyFromText(strings.Join(paras, "\n\n")) }

var (
	storyA = "The council approved the harbour budget on Tuesday after a long debate about repairs."
	storyB = "Ferry fares will stay the same until June, when the transport committee reviews them."
	junk1  = "Five things to do in Millbrook this weekend, from markets to music nights."
	junk2  = "Photo gallery: the best pictures from last year's harbour festival parade."
)

func TestChoose(t *testing.T) {
	tests := []struct {
		name string
		r, t store.Body
		want string
	}{
		{"trafilatura empty", body(storyA), nil, "readability"},
		{"readability empty", nil, body(storyA), "trafilatura"},
		{"trafilatura is the cleaner subset", body(storyA, storyB, junk1), body(storyA, storyB), "trafilatura"},
		{"readability is the cleaner subset", body(storyA, storyB), body(junk2, storyA, storyB), "readability"},
		{"identical prefers trafilatura", body(storyA, storyB), body(storyA, storyB), "trafilatura"},
		{"subset too small to be the article", body(storyA, storyB, junk1, junk2, storyA+" "+storyB), body(storyA), "readability"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := choose(candidate{name: "readability", body: tc.r}, candidate{name: "trafilatura", body: tc.t})
			if got.name != tc.want {
				t.Errorf("choose = %s, want %s", got.name, tc.want)
			}
		})
	}
}

func TestRestoreInline(t *testing.T) {
	doc, err := html.Parse(strings.NewReader(`<body><nav><a href="/">Home</a></nav>
		<p>Read the <a href="/report.pdf">full report</a> and the <b>summary</b>.</p>
		<ul><li><strong><a href="https://other.example/x">Headline</a>.</strong> Tail text.</li></ul>
		<p>Unchanged paragraph.</p></body>`))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://site.example/news/a")
	in := store.Body{
		{Kind: store.BlockParagraph, Spans: []store.Span{{Text: "Read the full report and the summary."}}},
		{Kind: store.BlockListItem, Spans: []store.Span{{Text: "Headline.Tail text."}}}, // extractor lost a space
		{Kind: store.BlockParagraph, Spans: []store.Span{{Text: "A paragraph the page does not have."}}},
	}
	got := restoreInline(in, doc, base)
	want := store.Body{
		{Kind: store.BlockParagraph, Spans: []store.Span{{Text: "Read the "}, {Text: "full report", Href: "https://site.example/report.pdf"}, {Text: " and the "}, {Text: "summary", Bold: true}, {Text: "."}}},
		{Kind: store.BlockListItem, Spans: []store.Span{{Text: "Headline", Href: "https://other.example/x", Bold: true}, {Text: ".", Bold: true}, {Text: " Tail text."}}},
		in[2],
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestMetadataTidying(t *testing.T) {
	if got := cleanByline("  By   Dana Whitlock "); got != "Dana Whitlock" {
		t.Errorf("cleanByline = %q", got)
	}
	if got := trimSiteSuffix("Ferry returns | The Courier", "The Courier"); got != "Ferry returns" {
		t.Errorf("trimSiteSuffix = %q", got)
	}
	if got := trimSiteSuffix("The Courier", "The Courier"); got != "The Courier" {
		t.Errorf("trimSiteSuffix kept nothing: %q", got)
	}
	base, _ := url.Parse("https://site.example/a/b")
	for ref, want := range map[string]string{"/img/x.jpg": "https://site.example/img/x.jpg", "data:image/png;base64,AAA": "", "": "", "//cdn.example/y.png": "https://cdn.example/y.png"} {
		if got := absoluteURL(base, ref); got != want {
			t.Errorf("absoluteURL(%q) = %q, want %q", ref, got, want)
		}
	}
	b := body("Ferry returns after repairs", storyA)
	if got := dropLeadingTitle(b, "Ferry Returns After Repairs – The Courier"); len(got) != 1 || got[0].Text() != storyA {
		t.Errorf("dropLeadingTitle kept the title: %v", got)
	}
	if got := dropLeadingTitle(b, "Something else"); len(got) != 2 {
		t.Errorf("dropLeadingTitle dropped a non-title block")
	}
}

func TestSafely(t *testing.T) {
	err := safely(func() { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("safely = %v, want the panic as an error", err)
	}
	if err := safely(func() {}); err != nil {
		t.Errorf("safely = %v, want nil", err)
	}
}
