package extract

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/heraldnews/herald/store"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxDepth bounds the recursion over an extracted tree; the HTML parser
// already caps nesting, this keeps a hostile tree from costing more.
const maxDepth = 512

// style is the inline formatting in effect at a point of the tree.
type style struct {
	href               string
	bold, italic, code bool
}

// bodyBuilder turns an extracted HTML fragment into a store.Body, keeping
// block structure and inline formatting and resolving links against base.
type bodyBuilder struct {
	base *url.URL
	body store.Body

	cur      *store.Block
	spaceEnd bool // the current block's text ends in (collapsed) whitespace

	listDepth int
	inQuote   int
	inPre     int
}

type listState struct {
	ordered bool
	next    int
}

// nodeToBody converts the children of root into blocks.
func nodeToBody(root *html.Node, base *url.URL) store.Body {
	if root == nil {
		return nil
	}
	b := &bodyBuilder{base: base}
	b.children(root, style{}, nil, 0)
	b.flush()
	return b.body
}

func (b *bodyBuilder) children(n *html.Node, st style, list *listState, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.node(c, st, list, depth+1)
	}
}

func (b *bodyBuilder) node(n *html.Node, st style, list *listState, depth int) {
	if depth > maxDepth {
		return
	}
	switch n.Type {
	case html.TextNode:
		b.text(n.Data, st)
		return
	case html.ElementNode:
	case html.DocumentNode:
		b.children(n, st, list, depth)
		return
	default:
		return
	}
	tag := tagOf(n)
	switch tag {
	case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg, atom.Math,
		atom.Button, atom.Input, atom.Select, atom.Textarea, atom.Option, atom.Iframe,
		atom.Object, atom.Embed, atom.Canvas, atom.Audio, atom.Video, atom.Img, atom.Picture,
		atom.Source, atom.Head, atom.Title, atom.Meta, atom.Link:
		return
	case atom.Br:
		b.lineBreak()
		return
	case atom.Hr:
		b.flush()
		return
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		b.flush()
		b.start(store.Block{Kind: store.BlockHeading, Level: int(n.Data[1] - '0')})
		b.children(n, st, list, depth)
		b.flush()
		return
	case atom.Ul, atom.Ol, atom.Menu, atom.Dl:
		b.flush()
		ls := &listState{ordered: tag == atom.Ol, next: 1}
		if tag == atom.Ol {
			if s := attr(n, "start"); s != "" {
				if v, ok := atoiSmall(s); ok {
					ls.next = v
				}
			}
		}
		b.listDepth++
		b.children(n, st, ls, depth)
		b.listDepth--
		b.flush()
		return
	case atom.Li, atom.Dt, atom.Dd:
		b.flush()
		blk := store.Block{Kind: store.BlockListItem}
		if b.listDepth > 0 {
			blk.Level = b.listDepth - 1
		}
		if list != nil && list.ordered && tag == atom.Li {
			blk.Ordered = true
			blk.Index = list.next
			list.next++
		}
		b.start(blk)
		b.children(n, st, nil, depth)
		b.flush()
		return
	case atom.Blockquote:
		b.flush()
		b.inQuote++
		b.children(n, st, list, depth)
		b.flush()
		b.inQuote--
		return
	case atom.Pre:
		b.flush()
		b.inPre++
		b.start(store.Block{Kind: store.BlockPre})
		b.children(n, style{code: true}, list, depth)
		b.flush()
		b.inPre--
		return
	case atom.Tr:
		b.flush()
		b.children(n, st, list, depth)
		b.flush()
		return
	case atom.Td, atom.Th:
		if b.cur != nil && len(b.cur.Spans) > 0 {
			b.text(" | ", style{})
		}
		b.children(n, st, list, depth)
		return
	case atom.A:
		if h := b.resolve(attr(n, "href")); h != "" {
			st.href = h
		}
	case atom.B, atom.Strong:
		st.bold = true
	case atom.I, atom.Em, atom.Cite, atom.Dfn, atom.Var:
		st.italic = true
	case atom.Code, atom.Kbd, atom.Samp, atom.Tt:
		st.code = true
	}
	if isBlockElement(n, tag) {
		// A paragraph inside a list item or heading continues that block on a new line
		// rather than breaking the item in two.
		if b.cur != nil && (b.cur.Kind == store.BlockListItem || b.cur.Kind == store.BlockHeading) {
			b.lineBreak()
			b.children(n, st, list, depth)
			b.lineBreak()
			return
		}
		b.flush()
		b.children(n, st, list, depth)
		b.flush()
		return
	}
	b.children(n, st, list, depth)
}

// isBlockElement reports elements that start a new paragraph.
func isBlockElement(n *html.Node, tag atom.Atom) bool {
	switch tag {
	case atom.P, atom.Div, atom.Section, atom.Article, atom.Main, atom.Header, atom.Footer,
		atom.Aside, atom.Nav, atom.Figure, atom.Figcaption, atom.Table, atom.Tbody, atom.Thead,
		atom.Tfoot, atom.Caption, atom.Address, atom.Details, atom.Summary, atom.Fieldset,
		atom.Form, atom.Body, atom.Html, atom.Center:
		return true
	}
	// Extractors sometimes emit unknown block-ish tags (for example "graphic").
	return tag == 0 && (n.Data == "doc" || n.Data == "graphic" || n.Data == "head")
}

// tagOf returns the element's atom; extractors build nodes by name only,
// leaving DataAtom unset.
func tagOf(n *html.Node) atom.Atom {
	if n.DataAtom != 0 {
		return n.DataAtom
	}
	return atom.Lookup([]byte(strings.ToLower(n.Data)))
}

func (b *bodyBuilder) start(blk store.Block) {
	b.cur = &blk
	b.spaceEnd = true
}

// ensure opens a paragraph (or quote) block for loose text.
func (b *bodyBuilder) ensure() {
	if b.cur != nil {
		return
	}
	kind := store.BlockParagraph
	if b.inQuote > 0 {
		kind = store.BlockQuote
	}
	if b.inPre > 0 {
		kind = store.BlockPre
	}
	b.start(store.Block{Kind: kind})
}

func (b *bodyBuilder) text(s string, st style) {
	if s == "" {
		return
	}
	if b.inPre > 0 {
		b.ensure()
		b.appendSpan(s, st)
		b.spaceEnd = strings.HasSuffix(s, "\n")
		return
	}
	var sb strings.Builder
	for _, r := range s {
		if isSpace(r) {
			if b.cur != nil && !b.spaceEnd {
				sb.WriteByte(' ')
				b.spaceEnd = true
			}
			continue
		}
		b.ensure()
		sb.WriteRune(r)
		b.spaceEnd = false
	}
	if sb.Len() > 0 {
		b.appendSpan(sb.String(), st)
	}
}

// lineBreak ends the current line inside a block.
func (b *bodyBuilder) lineBreak() {
	if b.cur == nil || len(b.cur.Spans) == 0 {
		return
	}
	last := &b.cur.Spans[len(b.cur.Spans)-1]
	last.Text = strings.TrimRight(last.Text, " ")
	if strings.HasSuffix(last.Text, "\n") {
		return
	}
	b.appendSpan("\n", style{})
	b.spaceEnd = true
}

func (b *bodyBuilder) appendSpan(text string, st style) {
	sp := store.Span{Text: text, Href: st.href, Bold: st.bold, Italic: st.italic, Code: st.code}
	if n := len(b.cur.Spans); n > 0 && sameStyle(b.cur.Spans[n-1], sp) {
		b.cur.Spans[n-1].Text += text
		return
	}
	b.cur.Spans = append(b.cur.Spans, sp)
}

func sameStyle(a, b store.Span) bool {
	return a.Href == b.Href && a.Bold == b.Bold && a.Italic == b.Italic && a.Code == b.Code
}

// flush closes the current block, trimming it and dropping it when empty.
func (b *bodyBuilder) flush() {
	if b.cur == nil {
		return
	}
	blk := *b.cur
	b.cur = nil
	if blk.Kind == store.BlockPre {
		blk.Spans = trimPre(blk.Spans)
	} else {
		blk.Spans = tidySpans(blk.Spans)
	}
	if len(blk.Spans) > 0 {
		b.body = append(b.body, blk)
	}
}

// tidySpans trims a block, moves whitespace at the edges of formatted spans
// outside them (so a renderer never underlines or bolds a bare space),
// removes spaces around line breaks and merges neighbours of equal style.
func tidySpans(spans []store.Span) []store.Span {
	var parts []store.Span
	for _, sp := range spans {
		core := strings.TrimFunc(sp.Text, unicode.IsSpace)
		if core == "" {
			parts = append(parts, store.Span{Text: sp.Text})
			continue
		}
		if i := strings.Index(sp.Text, core); i > 0 {
			parts = append(parts, store.Span{Text: sp.Text[:i]})
		}
		styled := sp
		styled.Text = core
		parts = append(parts, styled)
		if rest := sp.Text[strings.Index(sp.Text, core)+len(core):]; rest != "" {
			parts = append(parts, store.Span{Text: rest})
		}
	}
	var out []store.Span
	for _, sp := range parts {
		if n := len(out); n > 0 && sameStyle(out[n-1], sp) {
			out[n-1].Text += sp.Text
			continue
		}
		out = append(out, sp)
	}
	// Whitespace-only plain runs collapse to one space, or one line break if they hold one.
	for i := range out {
		if isPlain(out[i]) {
			out[i].Text = collapseRuns(out[i].Text)
		}
	}
	for len(out) > 0 && isPlain(out[0]) {
		out[0].Text = strings.TrimLeftFunc(out[0].Text, unicode.IsSpace)
		if out[0].Text != "" {
			break
		}
		out = out[1:]
	}
	for len(out) > 0 && isPlain(out[len(out)-1]) {
		last := &out[len(out)-1]
		last.Text = strings.TrimRightFunc(last.Text, unicode.IsSpace)
		if last.Text != "" {
			break
		}
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// collapseRuns squeezes each whitespace run of a plain span to a single
// space, or a single line break when the run contains one.
func collapseRuns(s string) string {
	var sb strings.Builder
	run, nl := false, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			run = true
			nl = nl || r == '\n'
			continue
		}
		if run {
			if nl {
				sb.WriteByte('\n')
			} else {
				sb.WriteByte(' ')
			}
			run, nl = false, false
		}
		sb.WriteRune(r)
	}
	if run {
		if nl {
			sb.WriteByte('\n')
		} else {
			sb.WriteByte(' ')
		}
	}
	return sb.String()
}

func isPlain(s store.Span) bool {
	return s.Href == "" && !s.Bold && !s.Italic && !s.Code
}

// trimPre removes blank lines around preformatted text, keeping indentation.
func trimPre(spans []store.Span) []store.Span {
	for len(spans) > 0 {
		spans[0].Text = strings.TrimLeft(spans[0].Text, "\r\n")
		if spans[0].Text != "" {
			break
		}
		spans = spans[1:]
	}
	for len(spans) > 0 {
		last := &spans[len(spans)-1]
		last.Text = strings.TrimRightFunc(last.Text, unicode.IsSpace)
		if last.Text != "" {
			break
		}
		spans = spans[:len(spans)-1]
	}
	if len(spans) == 0 {
		return nil
	}
	return spans
}

func (b *bodyBuilder) resolve(href string) string {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return ""
	}
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	if b.base != nil {
		u = b.base.ResolveReference(u)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto":
	default:
		// javascript:, data: and relative links we could not resolve are not links a reader can follow.
		return ""
	}
	if u.Scheme != "mailto" && u.Host == "" {
		return ""
	}
	return u.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func atoiSmall(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 6 {
		return 0, false
	}
	v := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		v = v*10 + int(r-'0')
	}
	return v, true
}

// isSpace covers HTML whitespace plus the no-break and zero-width spaces
// publishers sprinkle between words.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\u00a0', '\u200b', '\u2028', '\u2029', '\u3000', '\u202f', '\u2009', '\u2002', '\u2003':
		return true
	}
	return false
}
