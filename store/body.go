package store

import (
	"encoding/json"
	"strings"
)

// BlockKind names the structural role of a Block in an article body.
type BlockKind string

// Block kinds kept from the source page; renderers map each to platform markup.
const (
	BlockParagraph BlockKind = "p"
	BlockHeading   BlockKind = "h"
	BlockListItem  BlockKind = "li"
	BlockQuote     BlockKind = "quote"
	BlockPre       BlockKind = "pre"
)

// Span is a run of inline text with uniform formatting.
type Span struct {
	Text   string `json:"t"`
	Href   string `json:"href,omitempty"`
	Bold   bool   `json:"b,omitempty"`
	Italic bool   `json:"i,omitempty"`
	Code   bool   `json:"c,omitempty"`
}

// Block is one paragraph-level unit of an article: a paragraph, heading, list item, quote or preformatted text.
type Block struct {
	Kind BlockKind `json:"k"`
	// Level is the heading level (1-6) for headings and the nesting depth (0-based) for list items.
	Level int `json:"l,omitempty"`
	// Ordered marks a list item of a numbered list; Index is its 1-based number there.
	Ordered bool   `json:"o,omitempty"`
	Index   int    `json:"n,omitempty"`
	Spans   []Span `json:"s"`
}

// Text returns the block's plain text.
func (b Block) Text() string {
	var sb strings.Builder
	for _, s := range b.Spans {
		sb.WriteString(s.Text)
	}
	return sb.String()
}

// Body is a structured article body: the order of blocks is the reading order.
type Body []Block

// PlainText returns the body as plain text, blocks separated by blank lines.
func (b Body) PlainText() string {
	parts := make([]string, 0, len(b))
	for _, blk := range b {
		if t := strings.TrimSpace(blk.Text()); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n\n")
}

// BodyFromText builds a body of plain paragraphs from text whose paragraphs are separated by blank lines.
func BodyFromText(text string) Body {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var body Body
	for _, p := range strings.Split(text, "\n\n") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		body = append(body, Block{Kind: BlockParagraph, Spans: []Span{{Text: p}}})
	}
	return body
}

// MarshalBody encodes a body for storage.
func MarshalBody(b Body) (string, error) {
	if len(b) == 0 {
		return "", nil
	}
	out, err := json.Marshal(b)
	return string(out), err
}

// UnmarshalBody decodes a stored body; an empty string is an empty body.
func UnmarshalBody(s string) (Body, error) {
	if s == "" {
		return nil, nil
	}
	var b Body
	err := json.Unmarshal([]byte(s), &b)
	return b, err
}
