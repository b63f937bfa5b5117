package extract

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/gogs/chardet"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// metaScanLimit bounds how far into a page a <meta charset> is looked for;
// some publishers put it after kilobytes of inline scripts, past the
// 1024 bytes the HTML standard's prescan covers.
const metaScanLimit = 64 << 10

// toUTF8 decodes page to NFC-normalised UTF-8 and names the encoding it used.
//
// Order of evidence: a byte-order mark; then bytes that are valid UTF-8 with
// non-ASCII content (declarations are often wrong after a CMS migration, and
// real text in a legacy charset is practically never valid UTF-8); then the
// Content-Type header; then a <meta> declaration anywhere in the head; then a
// statistical guess; windows-1252 last, as browsers do.
func toUTF8(page []byte, contentType string) (string, string) {
	enc, name := detectEncoding(page, contentType)
	var out []byte
	if enc == nil {
		out = page
	} else {
		decoded, _, err := transform.Bytes(enc.NewDecoder(), page)
		if err != nil {
			out = page
			name = "utf-8"
		} else {
			out = decoded
		}
	}
	s := string(out)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if bom := "\uFEFF"; strings.HasPrefix(s, bom) {
		s = s[len(bom):]
	}
	return norm.NFC.String(s), name
}

// detectEncoding returns nil for UTF-8 (no decoding needed).
func detectEncoding(page []byte, contentType string) (encoding.Encoding, string) {
	switch {
	case bytes.HasPrefix(page, []byte{0xEF, 0xBB, 0xBF}):
		return nil, "utf-8"
	case bytes.HasPrefix(page, []byte{0xFE, 0xFF}):
		return unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), "utf-16be"
	case bytes.HasPrefix(page, []byte{0xFF, 0xFE}):
		return unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), "utf-16le"
	}
	if hasHighBit(page) && utf8.Valid(page) {
		return nil, "utf-8"
	}
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		if e, name := lookupCharset(params["charset"]); name != "" {
			return e, name
		}
	}
	if e, name := lookupCharset(metaCharset(page)); name != "" {
		return e, name
	}
	if !hasHighBit(page) {
		return nil, "utf-8"
	}
	if res, err := chardet.NewHtmlDetector().DetectBest(page); err == nil && res.Confidence >= 30 {
		if e, name := lookupCharset(res.Charset); name != "" {
			return e, name
		}
	}
	return charmap.Windows1252, "windows-1252"
}

// lookupCharset maps a label to a decoder; UTF-8 (and UTF-16 declared in a
// page already proven not to be UTF-16 by its lack of BOM) yields nil.
func lookupCharset(label string) (encoding.Encoding, string) {
	label = strings.TrimSpace(strings.ToLower(label))
	if label == "" {
		return nil, ""
	}
	e, name := charset.Lookup(label)
	if e == nil {
		return nil, ""
	}
	if name == "utf-8" || strings.HasPrefix(name, "utf-16") {
		return nil, "utf-8"
	}
	return e, name
}

// metaCharset finds the charset declared by a <meta charset> or
// <meta http-equiv="Content-Type" content="...; charset=..."> in the head.
func metaCharset(page []byte) string {
	if len(page) > metaScanLimit {
		page = page[:metaScanLimit]
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "body":
				return ""
			case "meta":
				var cs, content, equiv string
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch string(k) {
					case "charset":
						cs = string(v)
					case "content":
						content = string(v)
					case "http-equiv":
						equiv = strings.ToLower(string(v))
					}
				}
				if cs != "" {
					return cs
				}
				if equiv == "content-type" {
					if _, params, err := mime.ParseMediaType(content); err == nil && params["charset"] != "" {
						return params["charset"]
					}
				}
			}
		}
	}
}

func hasHighBit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
