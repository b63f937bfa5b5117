package extract

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldnews/herald/store"
	"golang.org/x/net/html"
)

func TestNodeToBody(t *testing.T) {
	base, _ := url.Parse("https://news.example/section/story.html")
	p := func(spans ...store.Span) store.Block { return store.Block{Kind: store.BlockParagraph, Spans: spans} }
	txt := func(s string) store.Span { return store.Span{Text: s} }
	tests := []struct {
		name string
		in   string
		want store.Body
	}{
		{
			name: "whitespace collapses across inline elements",
			in:   "<p>  one\n  <b>two </b>\tthree  </p>",
			want: store.Body{p(txt("one "), store.Span{Text: "two", Bold: true}, txt(" three"))},
		},
		{
			name: "relative, protocol-relative and fragment links",
			in:   `<p><a href="../other.html">rel</a> <a href="//cdn.example/x">proto</a> <a href="#top">frag</a> <a href="javascript:void(0)">js</a></p>`,
			want: store.Body{p(
				store.Span{Text: "rel", Href: "https://news.example/other.html"}, txt(" "),
				store.Span{Text: "proto", Href: "https://cdn.example/x"}, txt(" frag js"),
			)},
		},
		{
			name: "nested formatting",
			in:   `<p><strong>bold <em>both</em></strong> <code>x := 1</code></p>`,
			want: store.Body{p(
				store.Span{Text: "bold", Bold: true}, txt(" "), store.Span{Text: "both", Bold: true, Italic: true},
				txt(" "), store.Span{Text: "x := 1", Code: true},
			)},
		},
		{
			name: "headings and ordered list with start",
			in:   `<h3>Steps</h3><ol start="3"><li>first</li><li><p>second</p></li></ol>`,
			want: store.Body{
				{Kind: store.BlockHeading, Level: 3, Spans: []store.Span{txt("Steps")}},
				{Kind: store.BlockListItem, Ordered: true, Index: 3, Spans: []store.Span{txt("first")}},
				{Kind: store.BlockListItem, Ordered: true, Index: 4, Spans: []store.Span{txt("second")}},
			},
		},
		{
			name: "nested list levels",
			in:   `<ul><li>outer<ul><li>inner</li></ul></li></ul>`,
			want: store.Body{
				{Kind: store.BlockListItem, Spans: []store.Span{txt("outer")}},
				{Kind: store.BlockListItem, Level: 1, Spans: []store.Span{txt("inner")}},
			},
		},
		{
			name: "blockquote paragraphs become quotes",
			in:   `<blockquote><p>We sail at dawn.</p><p>Be ready.</p></blockquote><p>After.</p>`,
			want: store.Body{
				{Kind: store.BlockQuote, Spans: []store.Span{txt("We sail at dawn.")}},
				{Kind: store.BlockQuote, Spans: []store.Span{txt("Be ready.")}},
				p(txt("After.")),
			},
		},
		{
			name: "pre keeps whitespace",
			in:   "<pre>a  b\n  c</pre>",
			want: store.Body{{Kind: store.BlockPre, Spans: []store.Span{{Text: "a  b\n  c", Code: true}}}},
		},
		{
			name: "line breaks stay inside the paragraph",
			in:   "<p>line one<br>line two<br></p>",
			want: store.Body{p(txt("line one\nline two"))},
		},
		{
			name: "table rows become paragraphs",
			in:   "<table><tr><th>Team</th><th>Points</th></tr><tr><td>Rovers</td><td>12</td></tr></table>",
			want: store.Body{p(txt("Team | Points")), p(txt("Rovers | 12"))},
		},
		{
			name: "scripts, styles, forms and images are dropped",
			in:   `<div>text<script>var x=1</script><style>p{}</style><img alt="pic"><button>Click</button></div>`,
			want: store.Body{p(txt("text"))},
		},
		{
			name: "loose text between blocks is its own paragraph",
			in:   `<div>intro<p>para</p>outro</div>`,
			want: store.Body{p(txt("intro")), p(txt("para")), p(txt("outro"))},
		},
		{
			name: "empty blocks vanish",
			in:   "<p> \u00a0 </p><p></p><div><span> </span></div>",
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := html.Parse(strings.NewReader("<html><body>" + tc.in + "</body></html>"))
			if err != nil {
				t.Fatal(err)
			}
			got := nodeToBody(doc, base)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
