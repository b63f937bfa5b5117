package summarize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SplitSentences splits cleaned article text into sentences.
//
// It is tuned for news English and other Latin-script languages (German,
// French, Spanish, …): a sentence ends at '.', '!', '?' or an ellipsis
// (together with any closing quotes or brackets that follow) when whitespace
// and an upper-case letter, digit or opening quote follow. Blank lines always
// end a sentence, so headings without punctuation stay separate; a single
// newline is treated as a space. Abbreviations ("Mr.", "Jan.", "z.B."),
// initials ("J. K. Rowling"), acronyms ("U.S."), decimals ("3.5"), German
// ordinals before month names ("3. Oktober") and quotes such as `"…," he said.`
// do not end a sentence. Whitespace inside each returned sentence is collapsed
// to single spaces; empty input gives nil.
func SplitSentences(text string) []string {
	var out []string
	for _, para := range splitParagraphs(text) {
		out = splitParagraph(para, out)
	}
	return out
}

// splitParagraphs cuts text at blank lines (lines holding only whitespace).
func splitParagraphs(text string) []string {
	var paras []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			paras = append(paras, s)
		}
		cur.Reset()
	}
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(line)
	}
	flush()
	return paras
}

// splitParagraph appends the sentences of one paragraph to out.
func splitParagraph(p string, out []string) []string {
	start := 0
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		if !isTerminator(r) {
			i += size
			continue
		}
		// The terminator run: more terminators and closing quotes/brackets.
		j := i + size
		for j < len(p) {
			r2, s2 := utf8.DecodeRuneInString(p[j:])
			if isTerminator(r2) || isCloser(r2) {
				j += s2
				continue
			}
			// French style: « Oui. » has a space before the closing guillemet.
			if unicode.IsSpace(r2) {
				k := skipSpace(p, j)
				if r3, s3 := utf8.DecodeRuneInString(p[k:]); r3 == '»' && k < len(p) {
					j = k + s3
					continue
				}
			}
			break
		}
		if j >= len(p) {
			break
		}
		if r2, _ := utf8.DecodeRuneInString(p[j:]); !unicode.IsSpace(r2) {
			i = j // "3.5", "U.S", "example.com": no space, no boundary
			continue
		}
		k := skipSpace(p, j)
		if k >= len(p) {
			break
		}
		if shouldSplit(p, i, j, k) {
			out = appendSentence(out, p[start:j])
			start = k
		}
		i = k
	}
	return appendSentence(out, p[start:])
}

func appendSentence(out []string, s string) []string {
	s = collapseSpace(s)
	if s == "" {
		return out
	}
	return append(out, s)
}

// collapseSpace trims s and turns every whitespace run into one space.
func collapseSpace(s string) string {
	s = strings.TrimSpace(s)
	clean := true
	prevSpace := false
	for _, r := range s {
		sp := unicode.IsSpace(r)
		if sp && (r != ' ' || prevSpace) {
			clean = false
			break
		}
		prevSpace = sp
	}
	if clean {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func skipSpace(p string, i int) int {
	for i < len(p) {
		r, s := utf8.DecodeRuneInString(p[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += s
	}
	return i
}

func isTerminator(r rune) bool {
	return r == '.' || r == '!' || r == '?' || r == '…'
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', '”', '’', ')', ']', '»', '«', '›', '“':
		return true
	}
	return false
}

func isOpener(r rune) bool {
	switch r {
	case '"', '\'', '“', '‘', '„', '(', '[', '«', '»', '‹', '¿', '¡', '‚':
		return true
	}
	return false
}

// shouldSplit decides whether the terminator run p[i:j], followed by
// whitespace and then p[k:], ends a sentence.
func shouldSplit(p string, i, j, k int) bool {
	// Look through opening quotes and brackets at what starts the next part.
	n := k
	for n < len(p) {
		r, s := utf8.DecodeRuneInString(p[n:])
		if !isOpener(r) {
			break
		}
		n += s
	}
	next, _ := utf8.DecodeRuneInString(p[n:])
	if n >= len(p) {
		return true // only quotes follow: keep them with the next "sentence"
	}
	if unicode.IsLower(next) {
		return false // `"Wait!" he said.`, `Yahoo! shares`, "… and then"
	}
	if !unicode.IsUpper(next) && !unicode.IsDigit(next) && !isBullet(next) {
		return false // "—", "," or other punctuation continues the sentence
	}
	run := p[i:j]
	if run[0] != '.' || strings.HasPrefix(run, "..") {
		return true // '!', '?', ellipsis before a capital
	}
	if len(run) > 1 {
		return true // `."`, `.)`: the quote or bracket closes the sentence
	}
	word := wordBefore(p, i)
	if word == "" {
		return true
	}
	lw := strings.ToLower(word)
	nextWord := strings.ToLower(wordAt(p, n))
	if _, ok := prefixAbbrev[lw]; ok {
		return false
	}
	if isShortNumber(word) {
		// German/Scandinavian ordinals: "am 3. Oktober", "im 19. Jahrhundert".
		_, ok := ordinalNouns[nextWord]
		return !ok
	}
	_, endable := endableAbbrev[lw]
	initial := utf8.RuneCountInString(word) == 1 && unicode.IsUpper([]rune(word)[0])
	acronym := strings.Contains(word, ".")
	if endable || initial || acronym {
		if unicode.IsDigit(next) {
			return false // "Jan. 5", "No. 10"
		}
		_, starter := sentenceStarters[nextWord]
		return starter
	}
	return true
}

func isBullet(r rune) bool {
	return r == '•' || r == '–' || r == '—' || r == '-' || r == '*'
}

// wordBefore returns the non-space run ending at p[i] (exclusive), without
// leading opening quotes and brackets.
func wordBefore(p string, i int) string {
	s := i
	for s > 0 {
		r, size := utf8.DecodeLastRuneInString(p[:s])
		if unicode.IsSpace(r) {
			break
		}
		s -= size
	}
	w := p[s:i]
	return strings.TrimLeftFunc(w, func(r rune) bool { return isOpener(r) || r == '-' || r == '—' })
}

// wordAt returns the run of letters starting at p[i].
func wordAt(p string, i int) string {
	e := i
	for e < len(p) {
		r, size := utf8.DecodeRuneInString(p[e:])
		if !unicode.IsLetter(r) {
			break
		}
		e += size
	}
	return p[i:e]
}

func isShortNumber(w string) bool {
	if len(w) == 0 || len(w) > 3 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

func set(words ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}

// prefixAbbrev are abbreviations that (practically) never end a sentence
// because a name, number or noun always follows them.
var prefixAbbrev = set(
	// English titles and ranks
	"mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "col", "lt", "sgt",
	"capt", "cmdr", "adm", "maj", "rev", "hon", "pres", "supt", "insp", "det", "cpl",
	"pvt", "st", "mt", "ft", "messrs", "mmes",
	// references and measures
	"nos", "vols", "pp", "p", "figs", "vs", "v", "cf",
	"approx", "ca", "eds", "ch", "para", "op",
	"e.g", "i.e", "a.k.a", "viz",
	// German
	"z.b", "d.h", "u.a", "o.ä", "bzw", "vgl", "nr", "hr", "fr", "s", "str", "usw", "evtl",
	"ggf", "inkl", "exkl", "zzgl", "abs", "bspw", "sog",
	// French
	"mme", "mlle", "mgr", "av", "bd",
	// Spanish / Portuguese / Italian
	"sr", "sra", "srta", "sres", "dra", "dña", "lic", "ing", "arq", "pág", "núm",
	"sig", "avda", "gral", "sto", "sta", "dott", "sig.ra",
)

// endableAbbrev are abbreviations that often sit mid-sentence but may also
// end one ("… of Apple Inc. The company …"); they split only before a common
// sentence-starting word.
var endableAbbrev = set(
	"inc", "ltd", "co", "corp", "plc", "llc", "bros", "jr", "etc", "al", "cie", "gmbh", "ag",
	"jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
	"tue", "tues", "thu", "thur", "thurs", "fri", "no", "vol", "fig", "art", "sec", "ed",
	"a.m", "p.m", "ave", "blvd", "rd", "mio", "mrd", "tsd",
	"ariz", "calif", "colo", "conn", "fla", "ga", "kan", "ky", "md", "mich", "minn",
	"mont", "neb", "nev", "okla", "tenn", "tex", "va", "vt", "wis", "wyo",
)

// sentenceStarters are frequent first words of sentences; after an ambiguous
// abbreviation they tip the decision towards a boundary.
var sentenceStarters = set(
	"the", "a", "an", "he", "she", "it", "they", "we", "i", "you", "but", "and", "or", "so",
	"in", "on", "at", "this", "that", "these", "those", "there", "his", "her", "its", "their",
	"our", "my", "when", "while", "after", "before", "as", "if", "yet", "however",
	"meanwhile", "still", "also", "for", "with", "some", "many", "most", "one", "other",
	"what", "who", "why", "how", "where", "last", "now", "then", "both", "all", "no",
	"der", "die", "das", "er", "sie", "es", "wir", "ich", "ein", "eine", "aber", "und",
	"le", "la", "les", "il", "elle", "ils", "elles", "nous", "je", "un", "une", "mais",
	"el", "los", "las", "ella", "ellos", "pero", "una",
)

// ordinalNouns follow a number-with-period that is an ordinal, not a
// sentence end, in German and other languages that write ordinals "3.".
var ordinalNouns = set(
	"januar", "jänner", "februar", "märz", "april", "mai", "juni", "juli", "august",
	"september", "oktober", "november", "dezember",
	"jahrhundert", "jahrtausend", "jahrestag", "geburtstag", "mal", "platz", "stock",
	"stelle", "liga", "runde", "spieltag", "etage", "klasse", "auflage", "kapitel", "weltkrieg",
)
