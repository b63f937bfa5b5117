package telegramtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// allowedTags are the tags of Telegram's HTML parse mode.
var allowedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "a": true, "code": true, "pre": true,
	"blockquote": true, "tg-spoiler": true, "span": true, "tg-emoji": true,
}

// ParseHTML parses text in Telegram's HTML parse mode the way the Bot API does and returns
// the resulting plain text (tags removed, entities decoded, surrounding whitespace trimmed).
// It is stricter than the real server in one way: a bare '&' or '>' is an error, as the
// Bot API documentation requires them to be escaped.
func ParseHTML(s string) (string, error) {
	var out strings.Builder
	var stack []string
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return "", fmt.Errorf("unclosed start tag at byte offset %d", i)
			}
			tag := s[i+1 : i+end]
			if err := checkTag(tag, &stack, i); err != nil {
				return "", err
			}
			i += end + 1
		case '&':
			r, n, err := decodeEntity(s[i:])
			if err != nil {
				return "", fmt.Errorf("%v at byte offset %d", err, i)
			}
			out.WriteString(r)
			i += n
		case '>':
			return "", fmt.Errorf("unescaped '>' at byte offset %d", i)
		default:
			out.WriteByte(c)
			i++
		}
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("can't find end tag corresponding to start tag %q", stack[len(stack)-1])
	}
	return strings.TrimSpace(out.String()), nil
}

func checkTag(tag string, stack *[]string, off int) error {
	if strings.HasPrefix(tag, "/") {
		name := strings.ToLower(strings.TrimSpace(tag[1:]))
		if len(*stack) == 0 || (*stack)[len(*stack)-1] != name {
			return fmt.Errorf("unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", off, top(*stack), name)
		}
		*stack = (*stack)[:len(*stack)-1]
		return nil
	}
	name, attrs, _ := strings.Cut(tag, " ")
	name = strings.ToLower(name)
	if !allowedTags[name] {
		return fmt.Errorf("unsupported start tag %q at byte offset %d", name, off)
	}
	parsed, err := parseAttrs(attrs)
	if err != nil {
		return fmt.Errorf("%v in tag %q at byte offset %d", err, name, off)
	}
	for _, open := range *stack {
		switch {
		case open == "pre" && name == "code":
			// <pre><code class="language-x"> names the language of the block.
		case open == "code" || open == "pre":
			return fmt.Errorf("entity %q can't contain other entities (found %q) at byte offset %d", open, name, off)
		case open == "a" && (name == "a" || name == "code" || name == "pre"):
			return fmt.Errorf("a link can't contain %q at byte offset %d", name, off)
		case open == "blockquote" && name == "blockquote":
			return fmt.Errorf("blockquotes can't be nested at byte offset %d", off)
		}
	}
	if name == "a" {
		if _, ok := parsed["href"]; !ok {
			return fmt.Errorf("link without href at byte offset %d", off)
		}
	}
	if name == "span" && parsed["class"] != "tg-spoiler" {
		return fmt.Errorf("unsupported span at byte offset %d", off)
	}
	*stack = append(*stack, name)
	return nil
}

func top(stack []string) string {
	if len(stack) == 0 {
		return ""
	}
	return stack[len(stack)-1]
}

// parseAttrs reads name="value" pairs; values are entity-decoded.
func parseAttrs(s string) (map[string]string, error) {
	out := map[string]string{}
	for {
		s = strings.TrimSpace(s)
		if s == "" {
			return out, nil
		}
		name, rest, ok := strings.Cut(s, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz-") != "" {
			return nil, fmt.Errorf("bad attribute name %q", name)
		}
		if !ok {
			out[name] = ""
			return out, nil
		}
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			return nil, fmt.Errorf("empty attribute value")
		}
		var raw string
		if q := rest[0]; q == '"' || q == '\'' {
			end := strings.IndexByte(rest[1:], q)
			if end < 0 {
				return nil, fmt.Errorf("unclosed attribute value")
			}
			raw, s = rest[1:1+end], rest[2+end:]
		} else {
			raw, s, _ = strings.Cut(rest, " ")
		}
		if strings.ContainsAny(raw, "<>") {
			return nil, fmt.Errorf("unescaped angle bracket in attribute")
		}
		var val strings.Builder
		for i := 0; i < len(raw); {
			if raw[i] == '&' {
				r, n, err := decodeEntity(raw[i:])
				if err != nil {
					return nil, err
				}
				val.WriteString(r)
				i += n
				continue
			}
			val.WriteByte(raw[i])
			i++
		}
		out[name] = val.String()
	}
}

// decodeEntity decodes the HTML entity at the start of s; Telegram supports
// &lt; &gt; &amp; &quot; and numeric entities only.
func decodeEntity(s string) (string, int, error) {
	end := strings.IndexByte(s, ';')
	if end < 0 || end > 12 {
		return "", 0, fmt.Errorf("unescaped '&'")
	}
	name := s[1:end]
	switch name {
	case "lt":
		return "<", end + 1, nil
	case "gt":
		return ">", end + 1, nil
	case "amp":
		return "&", end + 1, nil
	case "quot":
		return `"`, end + 1, nil
	}
	if strings.HasPrefix(name, "#") {
		num := name[1:]
		base := 10
		if strings.HasPrefix(num, "x") || strings.HasPrefix(num, "X") {
			num, base = num[1:], 16
		}
		n, err := strconv.ParseUint(num, base, 32)
		if err == nil && n > 0 && n <= 0x10FFFF {
			return string(rune(n)), end + 1, nil
		}
	}
	return "", 0, fmt.Errorf("unsupported HTML entity %q", "&"+name+";")
}

// UTF16Len is the length of s in UTF-16 code units, the unit of Telegram's length limits.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
