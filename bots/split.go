package bots

import (
	"sort"
	"strings"
	"unicode"

	"github.com/rivo/uniseg"

	"github.com/heraldnews/herald/store"
)

// Split cuts a body into messages that each fit l.MaxText as measured by l.Measure, with the part
// marker counted. It keeps whole blocks (paragraphs) together when it can; a block too long for one
// message is cut at a sentence boundary, else at a line-break opportunity (between words, or between
// CJK characters), else between grapheme clusters — never inside a link's text unless the link alone
// is longer than a message. Cut spans keep their formatting and link on both sides, so each part
// renders valid on its own; whitespace at a cut is dropped. Parts are numbered when there is more than one.
func Split(body store.Body, l Limits) []Message {
	if len(body) == 0 {
		return nil
	}
	if l.Measure == nil || l.MaxText <= 0 || l.Measure(Message{Blocks: body}) <= l.MaxText {
		return []Message{{Blocks: body}}
	}
	// The marker's width depends on the number of parts: measure with a placeholder of the same
	// number of digits as the result, growing it if the split needs more parts than it allows.
	for ph := 9; ; ph = ph*10 + 9 {
		sp := splitter{l: l, ph: ph}
		out := sp.split(body)
		if len(out) <= ph || ph >= 999999 {
			for i := range out {
				out[i].Part, out[i].Total = i+1, len(out)
			}
			return out
		}
	}
}

type splitter struct {
	l   Limits
	ph  int // the placeholder part number and total used when measuring
	out []Message
	cur store.Body
}

// fits reports whether blocks fit one message after the current ones. Text longer than four bytes per
// unit of the limit cannot fit (a rune is at most four bytes and counts at least one unit), which
// spares measuring the unsent rest of a huge block after every cut.
func (sp *splitter) fits(blocks store.Body) bool {
	n := 0
	for _, b := range blocks {
		n += textLen(b)
	}
	if n > 4*sp.l.MaxText {
		return false
	}
	return sp.l.Measure(Message{Blocks: blocks, Part: sp.ph, Total: sp.ph}) <= sp.l.MaxText
}

func textLen(b store.Block) int {
	n := 0
	for _, s := range b.Spans {
		n += len(s.Text)
	}
	return n
}

func (sp *splitter) with(b store.Block) store.Body {
	out := make(store.Body, len(sp.cur), len(sp.cur)+1)
	copy(out, sp.cur)
	return append(out, b)
}

func (sp *splitter) flush() {
	if len(sp.cur) > 0 {
		sp.out = append(sp.out, Message{Blocks: sp.cur})
		sp.cur = nil
	}
}

func (sp *splitter) split(body store.Body) []Message {
	for _, b := range body {
		if sp.fits(sp.with(b)) {
			sp.cur = sp.with(b)
			continue
		}
		if sp.fits(store.Body{b}) {
			sp.flush()
			sp.cur = store.Body{b}
			continue
		}
		// The block must be cut anyway, so its first piece may fill the current message.
		text := b.Text()
		c := boundaries(b, text)
		for start := 0; ; {
			rest := sliceBlock(b, start, len(text))
			if len(rest.Spans) == 0 {
				break
			}
			if sp.fits(sp.with(rest)) {
				sp.cur = sp.with(rest)
				break
			}
			at, ok := sp.cut(b, text, c, start)
			if !ok {
				sp.flush()
				continue
			}
			sp.cur = sp.with(sliceBlock(b, start, at))
			sp.flush()
			start = at
		}
	}
	sp.flush()
	return sp.out
}

// cut returns the end offset of the longest piece of b starting at start that fits after sp.cur, cut
// at the best kind of boundary available. With sp.cur non-empty only sentence and word cuts are
// tried (ok false asks the caller to start a new message); with sp.cur empty it always makes progress.
func (sp *splitter) cut(b store.Block, text string, c cuts, start int) (at int, ok bool) {
	// A piece must hold more than the whitespace at its start, and cannot fit in more than 4 bytes per unit.
	lo := len(text) - len(strings.TrimLeftFunc(text[start:], unicode.IsSpace))
	hi := start + 4*sp.l.MaxText + 1
	window := func(cands []int) []int {
		i := sort.SearchInts(cands, lo+1)
		j := sort.SearchInts(cands, hi)
		return cands[i:j]
	}
	try := func(cands []int) (int, bool) {
		cands = window(cands)
		// Candidates are ascending and a longer piece never measures shorter: binary search the last that fits.
		i := sort.Search(len(cands), func(i int) bool { return !sp.fits(sp.with(sliceBlock(b, start, cands[i]))) })
		if i == 0 {
			return 0, false
		}
		return cands[i-1], true
	}
	sent, okS := try(c.sentence)
	word, okW := try(c.line)
	switch {
	case okS && (!okW || sent-start >= (word-start)/2):
		// A sentence cut wins unless it would waste more than half of what a word cut fits.
		return sent, true
	case okW:
		return word, true
	case len(sp.cur) > 0:
		return 0, false
	}
	if at, ok := try(c.grapheme); ok {
		return at, true
	}
	if at, ok := try(c.anyGrapheme); ok {
		return at, true
	}
	if w := window(c.anyGrapheme); len(w) > 0 {
		// Not even one grapheme fits: send one anyway rather than loop forever.
		return w[0], true
	}
	// One grapheme longer than a message: nothing smaller exists to send.
	return len(text), true
}

// cuts lists candidate cut offsets (bytes into a block's text), ascending, by preference.
type cuts struct {
	sentence    []int // sentence ends (UAX #29); line ends in preformatted text
	line        []int // line-break opportunities (UAX #14): after spaces, between CJK characters
	grapheme    []int // grapheme cluster boundaries outside links
	anyGrapheme []int // all grapheme cluster boundaries, for a link longer than a message
}

func boundaries(b store.Block, text string) cuts {
	var links [][2]int
	pos := 0
	for _, s := range b.Spans {
		if s.Href != "" {
			// Whitespace at a link's edges is not part of what a reader sees as the link.
			lead := len(s.Text) - len(strings.TrimLeftFunc(s.Text, unicode.IsSpace))
			trail := len(s.Text) - len(strings.TrimRightFunc(s.Text, unicode.IsSpace))
			links = append(links, [2]int{pos + lead, pos + len(s.Text) - trail})
		}
		pos += len(s.Text)
	}
	inLink := func(p int) bool {
		for _, l := range links {
			if l[0] < p && p < l[1] {
				return true
			}
		}
		return false
	}
	pre := b.Kind == store.BlockPre
	var c cuts
	state := -1
	rest := text
	pos = 0
	for len(rest) > 0 {
		var cluster string
		var bnd int
		cluster, rest, bnd, state = uniseg.StepString(rest, state)
		pos += len(cluster)
		if pos >= len(text) {
			continue
		}
		c.anyGrapheme = append(c.anyGrapheme, pos)
		if inLink(pos) {
			continue
		}
		c.grapheme = append(c.grapheme, pos)
		if lb := bnd & uniseg.MaskLine; lb == uniseg.LineCanBreak || lb == uniseg.LineMustBreak {
			c.line = append(c.line, pos)
		}
		if pre {
			if strings.HasSuffix(cluster, "\n") {
				c.sentence = append(c.sentence, pos)
			}
		} else if bnd&uniseg.MaskSentence != 0 {
			c.sentence = append(c.sentence, pos)
		}
	}
	return c
}

// sliceBlock returns the part of b between byte offsets from and to of its text, with the spans'
// formatting and links kept and the whitespace at the cut edges trimmed (only newlines in preformatted text).
func sliceBlock(b store.Block, from, to int) store.Block {
	out := b
	out.Spans = nil
	pos := 0
	for _, s := range b.Spans {
		start, end := pos, pos+len(s.Text)
		pos = end
		lo, hi := max(start, from), min(end, to)
		if lo >= hi {
			continue
		}
		s.Text = s.Text[lo-start : hi-start]
		out.Spans = append(out.Spans, s)
	}
	isCut := unicode.IsSpace
	if b.Kind == store.BlockPre {
		isCut = func(r rune) bool { return r == '\n' || r == '\r' }
	}
	if from > 0 {
		for len(out.Spans) > 0 {
			out.Spans[0].Text = strings.TrimLeftFunc(out.Spans[0].Text, isCut)
			if out.Spans[0].Text != "" {
				break
			}
			out.Spans = out.Spans[1:]
		}
	}
	if to < textLen(b) {
		for n := len(out.Spans); n > 0; n = len(out.Spans) {
			out.Spans[n-1].Text = strings.TrimRightFunc(out.Spans[n-1].Text, isCut)
			if out.Spans[n-1].Text != "" {
				break
			}
			out.Spans = out.Spans[:n-1]
		}
	}
	return out
}
