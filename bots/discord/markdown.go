package discord

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/store"
)

// MaxContent is Discord's limit on a message's content, in characters (code points).
const MaxContent = 2000

// Render returns a message as Discord markdown, with the article's own markdown
// characters and mentions escaped and a "(i/n)" marker when the message is one part of several.
func Render(m bots.Message) string {
	out := renderBody(m.Blocks, m.NoPreview)
	if m.Total > 1 {
		marker := fmt.Sprintf("-# (%d/%d)", m.Part, m.Total)
		if out == "" {
			return marker
		}
		out += "\n\n" + marker
	}
	return out
}

// Measure counts a rendered message the way Discord checks its 2000-character limit.
func Measure(m bots.Message) int { return utf8.RuneCountInString(Render(m)) }

// renderBody renders blocks to Discord markdown.
func renderBody(body store.Body, noPreview bool) string {
	var sb strings.Builder
	var prev store.BlockKind
	for _, b := range body {
		s := renderBlock(b, noPreview)
		if s == "" {
			continue
		}
		if sb.Len() > 0 {
			switch {
			case prev == store.BlockListItem && b.Kind == store.BlockListItem,
				prev == store.BlockQuote && b.Kind == store.BlockQuote,
				prev == store.BlockHeading:
				sb.WriteString("\n")
			default:
				sb.WriteString("\n\n")
			}
		}
		sb.WriteString(s)
		prev = b.Kind
	}
	return sb.String()
}

func renderBlock(b store.Block, noPreview bool) string {
	switch b.Kind {
	case store.BlockHeading:
		spans := oneLine(b.Spans)
		if b.Level >= 1 && b.Level <= 3 {
			// Discord headings are bold already; bold markers inside them are noise.
			for i := range spans {
				spans[i].Bold = false
			}
			in := renderInline(spans, noPreview)
			if in == "" {
				return ""
			}
			return strings.Repeat("#", b.Level) + " " + in
		}
		for i := range spans {
			spans[i].Bold = true
		}
		return renderInline(spans, noPreview)
	case store.BlockListItem:
		in := renderInline(oneLine(b.Spans), noPreview)
		if in == "" {
			return ""
		}
		marker := "- "
		if b.Ordered {
			n := b.Index
			if n < 1 {
				n = 1
			}
			marker = fmt.Sprintf("%d. ", n)
		}
		depth := min(max(b.Level, 0), 4)
		return strings.Repeat("  ", depth) + marker + in
	case store.BlockQuote:
		in := renderInline(b.Spans, noPreview)
		if in == "" {
			return ""
		}
		lines := strings.Split(in, "\n")
		for i, l := range lines {
			lines[i] = "> " + l
		}
		return strings.Join(lines, "\n")
	case store.BlockPre:
		text := strings.Trim(b.Text(), "\n")
		if strings.TrimSpace(text) == "" {
			return ""
		}
		// A fence inside the text would end the block early; a zero-width space breaks it.
		text = strings.ReplaceAll(text, "```", "`\u200b``")
		return "```\n" + text + "\n```"
	default:
		return renderInline(b.Spans, noPreview)
	}
}

// oneLine copies spans with newlines turned into spaces, for blocks that must stay on one line.
func oneLine(spans []store.Span) []store.Span {
	out := make([]store.Span, len(spans))
	for i, s := range spans {
		s.Text = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s.Text)
		out[i] = s
	}
	return out
}

// inline renders spans, opening and closing emphasis markers as a stack so that
// neighbouring spans never produce runs like "**a****b**" that Discord misreads.
type inline struct {
	sb        strings.Builder
	stack     []string
	lineStart bool
	noPreview bool
}

func renderInline(spans []store.Span, noPreview bool) string {
	w := &inline{lineStart: true, noPreview: noPreview}
	pending := ""
	for _, s := range spans {
		lead, core, trail := splitSpace(s.Text)
		pending += lead
		if core == "" {
			pending += trail
			continue
		}
		bold, italic := s.Bold, s.Italic
		// Whitespace goes between closing and opening markers: "**a** b", never "**a **b".
		keep := w.common(bold, italic)
		w.closeTo(keep)
		w.raw(pending)
		w.openFrom(keep, bold, italic)
		pending = trail
		switch {
		case s.Href != "":
			w.link(core, s.Href)
		case s.Code:
			w.code(core)
		default:
			w.text(core)
		}
	}
	w.closeTo(0)
	return strings.TrimSpace(w.sb.String())
}

func (w *inline) want(bold, italic bool) []string {
	var m []string
	if bold {
		m = append(m, "**")
	}
	if italic {
		m = append(m, "*")
	}
	return m
}

func (w *inline) common(bold, italic bool) int {
	want := w.want(bold, italic)
	k := 0
	for k < len(w.stack) && k < len(want) && w.stack[k] == want[k] {
		k++
	}
	return k
}

func (w *inline) closeTo(k int) {
	for i := len(w.stack) - 1; i >= k; i-- {
		w.sb.WriteString(w.stack[i])
	}
	w.stack = w.stack[:k]
}

func (w *inline) openFrom(k int, bold, italic bool) {
	for _, m := range w.want(bold, italic)[k:] {
		w.sb.WriteString(m)
		w.stack = append(w.stack, m)
		w.lineStart = false
	}
}

// raw writes whitespace between spans.
func (w *inline) raw(s string) {
	if s == "" {
		return
	}
	w.sb.WriteString(s)
	if strings.Contains(s, "\n") {
		w.lineStart = true
	}
}

// text writes escaped text, turning bare URLs into autolinks.
func (w *inline) text(s string) {
	for s != "" {
		var loc []int
		if strings.Contains(s, "http") {
			loc = urlRE.FindStringIndex(s)
		}
		if loc == nil {
			w.sb.WriteString(escapeText(s, &w.lineStart))
			return
		}
		u := trimURL(s[loc[0]:loc[1]])
		w.sb.WriteString(escapeText(s[:loc[0]], &w.lineStart))
		w.sb.WriteString(w.bareURL(u))
		w.lineStart = false
		s = s[loc[0]+len(u):]
	}
}

// bareURL writes a URL without link text; "<url>" is an autolink that Discord never unfurls
// and inside which markdown is not parsed.
func (w *inline) bareURL(u string) string {
	if !w.noPreview && !strings.ContainsAny(u, "*_~|`\\") {
		return u
	}
	return "<" + u + ">"
}

// link writes a masked link, avoiding the forms Discord refuses or misreads.
func (w *inline) link(text, href string) {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		w.text(text)
		return
	}
	safe := linkEscaper.Replace(u.String())
	// Discord does not allow masked links whose text is itself a URL; show the target instead.
	if looksLikeURL(text) {
		w.sb.WriteString(w.bareURL(safe))
		w.lineStart = false
		return
	}
	ls := false
	label := escapeText(strings.ReplaceAll(text, "\n", " "), &ls)
	if w.noPreview {
		w.sb.WriteString("[" + label + "](<" + safe + ">)")
	} else {
		w.sb.WriteString("[" + label + "](" + safe + ")")
	}
	w.lineStart = false
}

// code writes inline code; text that cannot be fenced safely is written as escaped text.
func (w *inline) code(s string) {
	s = strings.ReplaceAll(s, "\n", " ")
	switch {
	case !strings.Contains(s, "`"):
		w.sb.WriteString("`" + s + "`")
	case !strings.Contains(s, "``"):
		w.sb.WriteString("`` " + s + " ``")
	default:
		w.text(s)
		return
	}
	w.lineStart = false
}

var (
	urlRE = regexp.MustCompile(`https?://[^\s<>"]+`)
	// linkEscaper keeps a URL from ending the "(…)" or "<…>" around it.
	linkEscaper = strings.NewReplacer("(", "%28", ")", "%29", "<", "%3C", ">", "%3E", " ", "%20")
)

func looksLikeURL(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "www.")
}

// trimURL drops trailing punctuation that belongs to the sentence, keeping a closing
// parenthesis that the URL itself opened.
func trimURL(u string) string {
	for u != "" {
		last := u[len(u)-1]
		if strings.IndexByte(".,;:!?'*_~|", last) >= 0 {
			u = u[:len(u)-1]
			continue
		}
		if last == ')' && strings.Count(u, "(") < strings.Count(u, ")") {
			u = u[:len(u)-1]
			continue
		}
		break
	}
	return u
}

// escapeText escapes Discord markdown and mentions in plain text. lineStart tracks whether
// the next character begins a line, where "#", ">", "-", "+" and "1." start block syntax.
func escapeText(s string, lineStart *bool) string {
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if *lineStart {
			switch {
			case c == ' ' || c == '\t':
				sb.WriteByte(c)
				continue
			case c == '#' || c == '>' || c == '-' || c == '+':
				sb.WriteByte('\\')
				sb.WriteByte(c)
				*lineStart = false
				continue
			case c >= '0' && c <= '9':
				j := i
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				sb.WriteString(s[i:j])
				if j < len(s) && (s[j] == '.' || s[j] == ')') {
					sb.WriteByte('\\')
					sb.WriteByte(s[j])
					j++
				}
				i = j - 1
				*lineStart = false
				continue
			}
		}
		switch c {
		case '\\', '*', '_', '~', '|', '`', '[', ']', '<':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case '@':
			rest := s[i+1:]
			if strings.HasPrefix(rest, "everyone") || strings.HasPrefix(rest, "here") {
				sb.WriteByte('\\')
			}
			sb.WriteByte(c)
		case '\n':
			sb.WriteByte(c)
			*lineStart = true
			continue
		default:
			sb.WriteByte(c)
		}
		*lineStart = false
	}
	return sb.String()
}

func splitSpace(s string) (lead, core, trail string) {
	core = strings.TrimLeft(s, " \t\n\r")
	lead = s[:len(s)-len(core)]
	trimmed := strings.TrimRight(core, " \t\n\r")
	trail = core[len(trimmed):]
	return lead, trimmed, trail
}

// escapePlain escapes a plain string, such as a summary, for an embed description or message.
func escapePlain(s string) string {
	w := &inline{lineStart: true}
	w.text(s)
	return w.sb.String()
}

// truncate cuts plain text s to at most n characters, at a word boundary when one is near, adding "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := string([]rune(s)[:n-1])
	if i := strings.LastIndexAny(cut, " \n"); i > len(cut)*3/4 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " \n") + "…"
}

// escapeWithin escapes plain text and keeps the result within n characters, cutting the
// text before escaping so that no escape sequence or autolink is broken.
func escapeWithin(s string, n int) string {
	limit := n
	for {
		out := escapePlain(truncate(s, limit))
		if utf8.RuneCountInString(out) <= n || limit <= 1 {
			return out
		}
		limit -= utf8.RuneCountInString(out) - n
	}
}
