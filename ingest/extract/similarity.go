package extract

import (
	"regexp"
	"strings"
)

// wordRE matches a token as the extraction benchmark defines it: a run of
// Unicode letters, numbers or underscores (Python's \w), case kept.
var wordRE = regexp.MustCompile(`[\p{L}\p{N}_]+`)

// shingleSize is the n of the n-grams of tokens compared between texts.
const shingleSize = 4

// maxCompareTokens bounds the tokens overlap looks at; agreement between
// two readings of a page shows long before the end of a long text.
const maxCompareTokens = 50_000

// shingles counts the 4-grams of tokens of text; a text of fewer than four
// tokens (including none) is a single shingle, as in the benchmark.
func shingles(text string) map[string]int {
	toks := wordRE.FindAllString(text, -1)
	count := max(len(toks)-shingleSize+1, 1)
	out := make(map[string]int, count)
	for i := 0; i < count; i++ {
		end := min(i+shingleSize, len(toks))
		out[strings.Join(toks[i:end], " ")]++
	}
	return out
}

// overlap compares two texts by shingles (with multiplicity) and returns the
// fraction of b's shingles found in a (b's precision against a) and the
// fraction of a's found in b (b's recall against a). Two texts with no
// differences score (1, 1); texts sharing nothing score (0, 0).
func overlap(a, b string) (precision, recall float64) {
	return shingleOverlap(shingles(headTokens(a)), shingles(headTokens(b)))
}

// shingleOverlap is overlap on counted shingles.
func shingleOverlap(as, bs map[string]int) (precision, recall float64) {
	var tp, fp, fn int
	for k, ac := range as {
		bc := bs[k]
		tp += min(ac, bc)
		fn += max(0, ac-bc)
	}
	for k, bc := range bs {
		fp += max(0, bc-as[k])
	}
	if fp == 0 && fn == 0 {
		return 1, 1
	}
	if tp == 0 {
		return 0, 0
	}
	return float64(tp) / float64(tp+fp), float64(tp) / float64(tp+fn)
}

// headTokens cuts text after maxCompareTokens tokens.
func headTokens(text string) string {
	locs := wordRE.FindAllStringIndex(text, maxCompareTokens+1)
	if len(locs) <= maxCompareTokens {
		return text
	}
	return text[:locs[maxCompareTokens][0]]
}
