package extract

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/heraldnews/herald/store"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/unicode/norm"
)

// ErrWholePage means the HTML handed to Fragment is (or contains) a whole
// page — a document wrapper or navigation chrome — and must go through
// Extract, whose extractors separate the article from the chrome.
var ErrWholePage = errors.New("extract: html is a whole page, not an article fragment")

// Fragment converts HTML that is already an article body — a feed item's
// content:encoded, Atom content or JSON Feed content_html, a CMS push — into
// a cleaned body, without running the page extractors: those cost
// milliseconds per item and can throw away parts of an already clean body.
//
// Headings, lists, quotes, preformatted text, links (resolved against
// baseURL) and bold/italic/code survive; scripts, styles, embeds, images,
// hidden elements and form controls go; the result is cleaned like
// Extract's (CleanBody with opts.DropPatterns), which drops captions made
// of image file ids and newsletter/share chrome.
//
// Fragment returns ErrWholePage when the HTML looks like a whole page (a
// <html>, <head> or <body> tag, a doctype, navigation, a site header or
// footer, a menu of short links), ErrTooLarge past MaxPageBytes or the
// element limit, and ErrNoArticle when nothing is left after cleaning.
func Fragment(fragment, baseURL string, opts Options) (store.Body, error) {
	if len(fragment) > MaxPageBytes {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(fragment), MaxPageBytes)
	}
	if IsDocument(fragment) {
		return nil, ErrWholePage
	}
	// Feed and JSON decoders hand over UTF-8 already; normalise as parsePage does.
	s := norm.NFC.String(strings.ToValidUTF8(fragment, "\uFFFD"))
	s = strings.ReplaceAll(s, "\u00ad", "")
	root := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(s), root)
	if err != nil {
		return nil, fmt.Errorf("extract: parse fragment: %w", err)
	}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	if n := countElements(root, maxElements+1); n > maxElements {
		return nil, fmt.Errorf("%w: more than %d elements", ErrTooLarge, maxElements)
	}
	if looksLikePage(root) {
		return nil, ErrWholePage
	}
	trimOversized(root)
	removeHidden(root)
	splitBreakRuns(root)
	var base *url.URL
	if u, err := url.Parse(strings.TrimSpace(baseURL)); err == nil && u.IsAbs() {
		base = u
	}
	body := CleanBody(nodeToBody(root, base), opts.DropPatterns)
	if len(body) == 0 {
		return nil, ErrNoArticle
	}
	return body, nil
}

// documentTagRE finds the tags only a whole document has; the fragment
// parser would silently drop them, so they are looked for in the source.
var documentTagRE = regexp.MustCompile(`(?i)<(!doctype|html|head|body|frameset)[\s/>]`)

// IsDocument reports whether html carries a whole document's own tags (a
// doctype, <html>, <head> or <body>), so it can be handed to Extract as is.
func IsDocument(html string) bool { return documentTagRE.MatchString(html) }

// chromeNameRE matches a class or id token that names page chrome rather
// than a part of an article ("site-header", "main-nav", "sidebar").
var chromeNameRE = regexp.MustCompile(`^(site|global|main|primary|page|top|mobile)?[-_]?(nav|navbar|navigation|menu|menubar|header|footer|sidebar|breadcrumbs?|masthead)$`)

// Thresholds of the whole-page signals in looksLikePage.
const (
	// menuItems is how many one-link list items make a list a menu.
	menuItems = 5
	// menuLinkWords is the longest link text of a menu entry; headlines in
	// a "further reading" list are longer.
	menuLinkWords = 3
	// asideLinks is how many links make an <aside> a related-links box rather than a pull quote.
	asideLinks = 2
)

// looksLikePage reports whether a parsed fragment carries page chrome: a
// <nav>, a <header> or <footer> outside a quotation or figure (where HTML
// uses them for attributions), an <aside> of links, a <title>, a search
// form, an element named like chrome, or a menu (a list of five or more
// entries that are each one short link).
func looksLikePage(root *html.Node) bool {
	var walk func(n *html.Node, quoted, inSVG bool, depth int) bool
	walk = func(n *html.Node, quoted, inSVG bool, depth int) bool {
		if depth > maxDepth {
			return false
		}
		if n.Type == html.ElementNode {
			switch tagOf(n) {
			case atom.Nav, atom.Frameset, atom.Frame:
				return true
			case atom.Title:
				if !inSVG {
					return true
				}
			case atom.Header, atom.Footer:
				if !quoted {
					return true
				}
			case atom.Aside:
				if countLinks(n, asideLinks) >= asideLinks {
					return true
				}
			case atom.Blockquote, atom.Figure, atom.Q:
				quoted = true
			case atom.Svg, atom.Math:
				inSVG = true
			case atom.Input:
				if strings.EqualFold(attr(n, "type"), "search") {
					return true
				}
			case atom.Form:
				if strings.EqualFold(attr(n, "role"), "search") {
					return true
				}
			case atom.Ul, atom.Ol, atom.Menu:
				if isMenuList(n) {
					return true
				}
			}
			if strings.EqualFold(attr(n, "role"), "navigation") || strings.EqualFold(attr(n, "role"), "banner") {
				return true
			}
			for _, tok := range strings.Fields(attr(n, "class") + " " + attr(n, "id")) {
				if chromeNameRE.MatchString(strings.ToLower(tok)) {
					return true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if walk(c, quoted, inSVG, depth+1) {
				return true
			}
		}
		return false
	}
	return walk(root, false, false, 0)
}

// isMenuList reports a list whose entries are all single short links, at least menuItems of them.
func isMenuList(list *html.Node) bool {
	items := 0
	for li := list.FirstChild; li != nil; li = li.NextSibling {
		if li.Type != html.ElementNode {
			if li.Type == html.TextNode && strings.TrimSpace(li.Data) != "" {
				return false
			}
			continue
		}
		if tagOf(li) != atom.Li {
			return false
		}
		link, ok := soleLink(li)
		if !ok || len(strings.Fields(rawText(link))) > menuLinkWords {
			return false
		}
		items++
	}
	return items >= menuItems
}

// soleLink returns the one <a> of n when n has no text outside it.
func soleLink(n *html.Node) (*html.Node, bool) {
	var link *html.Node
	ok := true
	var walk func(c *html.Node, depth int)
	walk = func(c *html.Node, depth int) {
		for ; c != nil && ok; c = c.NextSibling {
			switch {
			case depth > maxDepth:
				ok = false
			case c.Type == html.TextNode:
				if strings.TrimSpace(c.Data) != "" {
					ok = false
				}
			case c.Type == html.ElementNode && tagOf(c) == atom.A:
				if link != nil {
					ok = false
				}
				link = c
			case c.Type == html.ElementNode:
				walk(c.FirstChild, depth+1)
			}
		}
	}
	walk(n.FirstChild, 0)
	return link, ok && link != nil
}

// countLinks counts the <a href> elements under n, stopping at limit.
func countLinks(n *html.Node, limit int) int {
	count := 0
	stack := []*html.Node{n}
	for len(stack) > 0 && count < limit {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cur.Type == html.ElementNode && tagOf(cur) == atom.A && attr(cur, "href") != "" {
			count++
		}
		for c := cur.FirstChild; c != nil; c = c.NextSibling {
			stack = append(stack, c)
		}
	}
	return count
}

// hiddenStyleRE matches inline styles that hide an element from readers.
var hiddenStyleRE = regexp.MustCompile(`(?i)(display\s*:\s*none|visibility\s*:\s*hidden)`)

// removeHidden deletes elements a browser would not show (the hidden
// attribute, aria-hidden, display:none): feeds carry tracking text and
// screen-reader duplicates in them.
func removeHidden(root *html.Node) {
	stack := []*html.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for c := n.FirstChild; c != nil; {
			next := c.NextSibling
			if c.Type == html.ElementNode && isHidden(c) {
				n.RemoveChild(c)
			} else {
				stack = append(stack, c)
			}
			c = next
		}
	}
}

func isHidden(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if strings.EqualFold(strings.TrimSpace(a.Val), "true") {
				return true
			}
		case "style":
			if hiddenStyleRE.MatchString(a.Val) {
				return true
			}
		}
	}
	return false
}

// splitBreakRuns replaces each run of two or more <br> (whitespace between
// them allowed) with an empty paragraph, which the body converter treats
// as a paragraph break: older CMSs and Blogger separate paragraphs that
// way, and the cleaning rules work paragraph by paragraph.
func splitBreakRuns(root *html.Node) {
	stack := []*html.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if !isBr(c) {
				if c.Type == html.ElementNode {
					stack = append(stack, c)
				}
				continue
			}
			// Find the end of the run starting at c.
			brs, last := 1, c
			for d := c.NextSibling; d != nil && (isBr(d) || isBlankText(d)); d = d.NextSibling {
				if isBr(d) {
					brs, last = brs+1, d
				}
			}
			if brs < 2 {
				continue
			}
			p := &html.Node{Type: html.ElementNode, Data: "p", DataAtom: atom.P}
			n.InsertBefore(p, c)
			for d := c; ; {
				next := d.NextSibling
				n.RemoveChild(d)
				if d == last {
					break
				}
				d = next
			}
			c = p
		}
	}
}

func isBr(n *html.Node) bool { return n.Type == html.ElementNode && tagOf(n) == atom.Br }

func isBlankText(n *html.Node) bool {
	return n.Type == html.TextNode && strings.TrimSpace(n.Data) == ""
}
