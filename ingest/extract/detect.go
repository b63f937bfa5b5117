package extract

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Kind is the type of an input document.
type Kind int

// Kinds Detect distinguishes.
const (
	// Text is plain text (also the answer for anything unrecognised).
	Text Kind = iota
	// HTML is a web page.
	HTML
	// FeedXML is an RSS 0.9x/2.0, RSS 1.0 (RDF) or Atom feed.
	FeedXML
	// FeedJSON is a JSON Feed (jsonfeed.org).
	FeedJSON
)

// String names the kind for logs and CLI output.
func (k Kind) String() string {
	switch k {
	case HTML:
		return "html"
	case FeedXML:
		return "feed-xml"
	case FeedJSON:
		return "feed-json"
	default:
		return "text"
	}
}

// sniffLen is how much of a document Detect looks at; feeds and pages
// declare themselves near the start.
const sniffLen = 8 << 10

// Detect tells from content, not file name or header, whether data is an
// HTML page, an XML feed, a JSON Feed or plain text.
func Detect(data []byte) Kind {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	head := bytes.TrimLeft(data, " \t\r\n\f")
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	if len(head) == 0 {
		return Text
	}
	if head[0] == '{' {
		if isJSONFeed(data) {
			return FeedJSON
		}
		return Text
	}
	if head[0] != '<' {
		return Text
	}
	lower := strings.ToLower(string(head))
	// Skip the prolog: XML declaration, comments, processing instructions, doctype.
	rest := lower
	for {
		rest = strings.TrimLeft(rest, " \t\r\n\f")
		switch {
		case strings.HasPrefix(rest, "<?"):
			i := strings.Index(rest, "?>")
			if i < 0 {
				return markupGuess(lower)
			}
			rest = rest[i+2:]
			continue
		case strings.HasPrefix(rest, "<!--"):
			i := strings.Index(rest, "-->")
			if i < 0 {
				return markupGuess(lower)
			}
			rest = rest[i+3:]
			continue
		case strings.HasPrefix(rest, "<!doctype html"):
			return HTML
		case strings.HasPrefix(rest, "<!"):
			i := strings.Index(rest, ">")
			if i < 0 {
				return markupGuess(lower)
			}
			rest = rest[i+1:]
			continue
		}
		break
	}
	root := rest
	if i := strings.IndexAny(root, " \t\r\n/>"); i > 0 {
		root = root[:i]
	}
	root = strings.TrimPrefix(root, "<")
	if j := strings.IndexByte(root, ':'); j >= 0 { // rdf:RDF, atom:feed
		root = root[j+1:]
	}
	switch root {
	case "rss", "feed", "rdf", "channel":
		return FeedXML
	case "html", "head", "body", "div", "p", "article", "meta", "title", "section", "main", "header", "h1", "h2", "table", "script", "style", "link", "span", "a", "ul", "img", "br":
		return HTML
	}
	return markupGuess(lower)
}

// markupGuess classifies markup whose root element is not decisive.
func markupGuess(lower string) Kind {
	switch {
	case strings.Contains(lower, "<rss") || strings.Contains(lower, "<rdf:rdf") ||
		strings.Contains(lower, `xmlns="http://www.w3.org/2005/atom"`) && strings.Contains(lower, "<feed"):
		return FeedXML
	case strings.Contains(lower, "<html") || strings.Contains(lower, "<body") || strings.Contains(lower, "<p>") ||
		strings.Contains(lower, "<div") || strings.Contains(lower, "<br"):
		return HTML
	}
	return Text
}

// isJSONFeed reports a JSON object whose "version" names the JSON Feed spec.
func isJSONFeed(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	var probe struct {
		Version string          `json:"version"`
		Items   json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		// A truncated feed still names its version at the top.
		head := data
		if len(head) > sniffLen {
			head = head[:sniffLen]
		}
		return bytes.Contains(head, []byte("jsonfeed.org/version/"))
	}
	return strings.Contains(probe.Version, "jsonfeed.org/version/")
}
