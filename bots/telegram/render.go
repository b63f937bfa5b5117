package telegram

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/store"
)

// rendered is a message in Telegram HTML together with the text Telegram shows after
// parsing it; both come from one pass so the measured length always matches what is sent.
type rendered struct {
	html  strings.Builder
	plain strings.Builder
	// measureOnly skips building the HTML when only the length is wanted (splitting measures often).
	measureOnly bool
}

// tag writes markup, which takes no room in the parsed text.
func (r *rendered) tag(s string) {
	if !r.measureOnly {
		r.html.WriteString(s)
	}
}

// text writes user-visible text, escaped for HTML.
func (r *rendered) text(s string) {
	if !r.measureOnly {
		r.html.WriteString(escape(s))
	}
	r.plain.WriteString(s)
}

// HTML is the text to send with parse_mode HTML.
func (r *rendered) HTML() string { return r.html.String() }

// Len is the length Telegram counts: UTF-16 units of the parsed text without surrounding whitespace.
func (r *rendered) Len() int { return utf16Len(strings.TrimSpace(r.plain.String())) }

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// escape makes s safe as Telegram HTML text or a double-quoted attribute value.
func escape(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return htmlEscaper.Replace(s)
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// safeURL returns u when it is an absolute link Telegram accepts and readers can follow safely.
func safeURL(u string) (string, bool) {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil {
		return "", false
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https":
		if p.Host == "" {
			return "", false
		}
	case "mailto", "tg":
	default:
		return "", false
	}
	return p.String(), true
}

// renderMessage renders one neutral message, with its "(i/n)" marker when it is part of a split article.
func renderMessage(m bots.Message) *rendered {
	r := &rendered{}
	renderMessageTo(r, m)
	return r
}

func renderMessageTo(r *rendered, m bots.Message) {
	renderBody(r, m.Blocks)
	if m.Total > 1 {
		if r.plain.Len() > 0 {
			r.text("\n\n")
		}
		r.text(fmt.Sprintf("(%d/%d)", m.Part, m.Total))
	}
}

// measure is Limits.Measure: the length of the message as Telegram counts it, from the
// same rendering pass that produces the HTML.
func measure(m bots.Message) int {
	r := &rendered{measureOnly: true}
	renderMessageTo(r, m)
	return r.Len()
}

func renderBody(r *rendered, body store.Body) {
	var prev *store.Block
	for i := range body {
		b := &body[i]
		if strings.TrimSpace(b.Text()) == "" {
			continue
		}
		if prev != nil {
			if prev.Kind == store.BlockListItem && b.Kind == store.BlockListItem {
				r.text("\n")
			} else {
				r.text("\n\n")
			}
		}
		renderBlock(r, b)
		prev = b
	}
}

func renderBlock(r *rendered, b *store.Block) {
	switch b.Kind {
	case store.BlockHeading:
		r.tag("<b>")
		renderSpans(r, b.Spans, true)
		r.tag("</b>")
	case store.BlockListItem:
		r.text(strings.Repeat("    ", max(b.Level, 0)))
		switch {
		case b.Ordered && b.Index > 0:
			r.text(strconv.Itoa(b.Index) + ". ")
		case b.Level > 0:
			r.text("◦ ")
		default:
			r.text("• ")
		}
		renderSpans(r, b.Spans, false)
	case store.BlockQuote:
		r.tag("<blockquote>")
		renderSpans(r, b.Spans, false)
		r.tag("</blockquote>")
	case store.BlockPre:
		// A pre entity can contain no other entity, so formatting inside is dropped.
		r.tag("<pre>")
		r.text(b.Text())
		r.tag("</pre>")
	default:
		renderSpans(r, b.Spans, false)
	}
}

// renderSpans writes inline text. Telegram forbids code inside bold/italic/links and
// links inside code, so a code span that is also a link is rendered as a link, and
// code inside a bold heading as plain (bold) text.
func renderSpans(r *rendered, spans []store.Span, inBold bool) {
	for _, s := range spans {
		if s.Text == "" {
			continue
		}
		href, link := "", false
		if s.Href != "" {
			href, link = safeURL(s.Href)
		}
		if s.Code && !link && !inBold {
			r.tag("<code>")
			r.text(s.Text)
			r.tag("</code>")
			continue
		}
		bold, italic := s.Bold && !inBold, s.Italic
		if bold {
			r.tag("<b>")
		}
		if italic {
			r.tag("<i>")
		}
		if link {
			r.tag(`<a href="` + escape(href) + `">`)
		}
		r.text(s.Text)
		if link {
			r.tag("</a>")
		}
		if italic {
			r.tag("</i>")
		}
		if bold {
			r.tag("</b>")
		}
	}
}

// storyListBlocks renders stories for /latest and /search as numbered items: linked bold title, short summary.
func storyListBlocks(cards []bots.StoryCard) store.Body {
	var out store.Body
	for i, c := range cards {
		spans := []store.Span{{Text: c.Title, Bold: true, Href: c.URL}}
		if sum := truncate(strings.Join(strings.Fields(c.Summary), " "), 200); sum != "" {
			spans = append(spans, store.Span{Text: " — " + sum})
		}
		if c.StoryID > 0 {
			spans = append(spans, store.Span{Text: " /story " + strconv.FormatInt(c.StoryID, 10), Italic: true})
		}
		out = append(out, store.Block{Kind: store.BlockListItem, Ordered: true, Index: i + 1, Spans: spans})
	}
	return out
}

// truncate shortens s to at most n runes, cutting at a word boundary and adding an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	cut := string(runes[:n])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.-—") + "…"
}

// renderCard renders a channel post; summary is passed separately so Post can shorten it to fit.
func renderCard(c bots.StoryCard, summary string) *rendered {
	r := &rendered{}
	title := strings.TrimSpace(c.Title)
	if title != "" {
		r.tag("<b>")
		r.text(title)
		r.tag("</b>")
	}
	if summary = strings.TrimSpace(summary); summary != "" {
		if title != "" {
			r.text("\n\n")
		}
		r.text(summary)
	}
	var meta []string
	if by := strings.TrimSpace(c.Byline); by != "" {
		meta = append(meta, by)
	}
	if !c.PublishedAt.IsZero() {
		meta = append(meta, c.PublishedAt.UTC().Format("2 January 2006"))
	}
	if len(meta) > 0 {
		r.text("\n\n")
		r.tag("<i>")
		r.text(strings.Join(meta, " · "))
		r.tag("</i>")
	}
	if href, ok := safeURL(c.URL); ok {
		if len(meta) > 0 {
			r.text("\n")
		} else {
			r.text("\n\n")
		}
		r.tag(`<a href="` + escape(href) + `">`)
		r.text(linkLabel(c, href))
		r.tag("</a>")
	}
	return r
}

func linkLabel(c bots.StoryCard, href string) string {
	if s := strings.TrimSpace(c.SiteName); s != "" {
		return "Read on " + s
	}
	if u, err := url.Parse(href); err == nil && u.Host != "" {
		return "Read on " + strings.TrimPrefix(u.Host, "www.")
	}
	return "Read the story"
}

// fitCard renders the card within limit, shortening the summary when needed; ok is false when
// even the card without summary is too long.
func fitCard(c bots.StoryCard, limit int) (*rendered, bool) {
	full := renderCard(c, c.Summary)
	if full.Len() <= limit {
		return full, true
	}
	runes := []rune(strings.TrimSpace(c.Summary))
	lo, hi := 0, len(runes)
	best := renderCard(c, "")
	if best.Len() > limit {
		return best, false
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		r := renderCard(c, truncate(string(runes), mid))
		if r.Len() <= limit {
			best, lo = r, mid
		} else {
			hi = mid - 1
		}
	}
	return best, true
}
