package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/heraldnews/herald/ingest/extract"
)

// titleRunes is the longest first line of a text file taken for its title.
const titleRunes = 150

// Load reads an HTML page, a plain-text file or a feed from a file path or an http(s) URL
// and returns the Inputs the poller would build (origin "cli"): one for a page or text,
// one per item for a feed, newest first. The type comes from the content, not the name.
func (p *Pipeline) Load(ctx context.Context, pathOrURL string) ([]Input, error) {
	var data []byte
	var contentType, srcURL, guid string
	if u := CanonicalURL(pathOrURL); u != "" && strings.Contains(pathOrURL, "://") {
		resp, err := p.fetch.get(ctx, request{url: pathOrURL, accept: "text/html, " + feedAccept})
		if err != nil {
			return nil, err
		}
		data, contentType, srcURL = resp.body, resp.contentType, resp.finalURL
		guid = CanonicalURL(srcURL)
	} else {
		f, err := os.Open(pathOrURL)
		if err != nil {
			return nil, fmt.Errorf("ingest: load: %w", err)
		}
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, p.fetch.maxBytes+1))
		if err != nil {
			return nil, fmt.Errorf("ingest: load %s: %w", pathOrURL, err)
		}
		if int64(len(data)) > p.fetch.maxBytes {
			return nil, fmt.Errorf("%w: %s is over the %s limit (ingest.max_body_bytes)", ErrBodyTooLarge, pathOrURL, byteSize(p.fetch.maxBytes))
		}
		abs, err := filepath.Abs(pathOrURL)
		if err != nil {
			abs = pathOrURL
		}
		guid = "file:" + abs
	}
	return loadInputs(pathOrURL, data, contentType, srcURL, guid)
}

// LoadData is Load for content already in memory (standard input): name is what errors
// call it, and the story is identified by a hash of the content, so loading the same
// text twice finds the same story instead of adding a copy.
func (p *Pipeline) LoadData(name string, data []byte) ([]Input, error) {
	if int64(len(data)) > p.fetch.maxBytes {
		return nil, fmt.Errorf("%w: %s is over the %s limit (ingest.max_body_bytes)", ErrBodyTooLarge, name, byteSize(p.fetch.maxBytes))
	}
	sum := sha256.Sum256(data)
	return loadInputs(name, data, "", "", "sha256:"+hex.EncodeToString(sum[:]))
}

// loadInputs turns a page, text or feed into Inputs; the type comes from the content.
func loadInputs(name string, data []byte, contentType, srcURL, guid string) ([]Input, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("ingest: load %s: empty: no article or feed in it", name)
	}
	switch detect(data) {
	case extract.FeedXML, extract.FeedJSON:
		parsed, err := parseFeed(data)
		if err != nil {
			return nil, err
		}
		ins := feedInputs(parsed, srcURL, "cli", 0)
		if len(ins) == 0 {
			return nil, errors.New("ingest: load: the feed has no items")
		}
		for i := range ins {
			// GUIDs are only unique within a feed; scope them by where the feed came from.
			ins[i].GUID = guid + "#" + ins[i].GUID
		}
		return ins, nil
	case extract.HTML:
		return []Input{{Origin: "cli", GUID: guid, URL: srcURL, Page: data, PageContentType: contentType}}, nil
	default:
		if !utf8.Valid(data) {
			return nil, fmt.Errorf("ingest: load %s: not UTF-8 text, HTML or a feed", name)
		}
		title, text := splitTitle(string(data))
		return []Input{{Origin: "cli", GUID: guid, URL: srcURL, Title: title, Text: text}}, nil
	}
}

// splitTitle takes the first line of a text as its title when it reads like one: short,
// followed by a blank line, and not ending like a sentence.
func splitTitle(text string) (title, rest string) {
	text = strings.TrimLeft(strings.ReplaceAll(text, "\r\n", "\n"), "\n \t\ufeff")
	first, rest, ok := strings.Cut(text, "\n\n")
	first = strings.TrimSpace(first)
	if !ok || first == "" || strings.Contains(first, "\n") || utf8.RuneCountInString(first) > titleRunes ||
		strings.ContainsAny(first[len(first)-1:], ".!?:;,") || extract.IsBoilerplate(first) {
		return "", text
	}
	return first, rest
}
