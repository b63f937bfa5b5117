package extract

import (
	"net/url"
	"strings"

	"github.com/heraldnews/herald/store"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// restoreInline puts links and inline formatting back into blocks of body
// that an extractor returned as bare text: each block whose text matches a
// paragraph-level element of the original page (ignoring whitespace) takes
// that element's spans, keeping the block's own kind.
//
// Trafilatura is run without its link option because that option reorders
// text around links; the page itself is the trustworthy source of links.
func restoreInline(body store.Body, doc *html.Node, base *url.URL) store.Body {
	if len(body) == 0 || doc == nil {
		return body
	}
	want := make(map[string]int, len(body))
	for i, blk := range body {
		if blk.Kind == store.BlockPre {
			continue
		}
		if k := squash(blk.Text()); k != "" {
			if _, dup := want[k]; !dup {
				want[k] = i
			}
		}
	}
	found := map[string][]store.Span{}
	var walk func(n *html.Node, depth int)
	walk = func(n *html.Node, depth int) {
		if depth > maxDepth {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			switch tag := tagOf(c); tag {
			case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg:
				continue
			case atom.P, atom.Li, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Blockquote, atom.Dd, atom.Dt, atom.Td, atom.Th, atom.Figcaption, atom.Div:
				if tag == atom.Div && hasBlockChild(c) {
					break
				}
				k := squash(rawText(c))
				if _, wanted := want[k]; !wanted {
					break
				}
				if _, seen := found[k]; seen {
					continue
				}
				if spans, ok := inlineSpans(c, base); ok && squash(spansText(spans)) == k {
					found[k] = spans
					continue
				}
			}
			walk(c, depth+1)
		}
	}
	walk(doc, 0)
	if len(found) == 0 {
		return body
	}
	out := make(store.Body, len(body))
	copy(out, body)
	for k, spans := range found {
		i := want[k]
		out[i].Spans = spans
	}
	return out
}

// inlineSpans converts an element that holds a single block of text.
func inlineSpans(n *html.Node, base *url.URL) ([]store.Span, bool) {
	blocks := nodeToBody(n, base)
	if len(blocks) != 1 {
		return nil, false
	}
	return blocks[0].Spans, true
}

func spansText(spans []store.Span) string {
	var sb strings.Builder
	for _, s := range spans {
		sb.WriteString(s.Text)
	}
	return sb.String()
}

// squash removes all whitespace, so texts that differ only in spacing compare equal.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if isSpace(r) || r == '\v' {
			return -1
		}
		return r
	}, s)
}

// hasBlockChild reports whether an element directly contains block elements,
// in which case its own text is not one paragraph.
func hasBlockChild(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && isBlockElement(c, tagOf(c)) {
			return true
		}
	}
	return false
}

// rawText concatenates the text an element shows, skipping non-content elements.
func rawText(n *html.Node) string {
	var sb strings.Builder
	var walk func(*html.Node, int)
	walk = func(n *html.Node, depth int) {
		if depth > maxDepth {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				sb.WriteString(c.Data)
			case html.ElementNode:
				switch tagOf(c) {
				case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg, atom.Math,
					atom.Button, atom.Select, atom.Textarea, atom.Iframe, atom.Object:
					continue
				}
				walk(c, depth+1)
			}
		}
	}
	walk(n, 0)
	return sb.String()
}
