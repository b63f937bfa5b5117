package summarize

import (
	"unicode"
	"unicode/utf8"
)

// termizer turns sentences into bags of content-term ids, sharing one
// vocabulary per article so vectors can be compared by id.
type termizer struct {
	vocab map[string]int32
	buf   []byte
}

func newTermizer() *termizer {
	return &termizer{vocab: make(map[string]int32, 512), buf: make([]byte, 0, 64)}
}

// terms appends the content-term ids of s to dst: lower-cased runs of
// letters and digits, stop words and one-character tokens dropped, each
// folded by a light suffix stemmer so "talks"/"talk" match.
func (t *termizer) terms(s string, dst []int32) []int32 {
	t.buf = t.buf[:0]
	runes := 0
	flush := func() {
		if runes > 1 {
			w := stem(t.buf)
			if _, stop := stopWords[string(w)]; !stop {
				id, ok := t.vocab[string(w)]
				if !ok {
					id = int32(len(t.vocab))
					t.vocab[string(w)] = id
				}
				dst = append(dst, id)
			}
		}
		t.buf = t.buf[:0]
		runes = 0
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				t.buf = append(t.buf, c)
				runes++
			case 'A' <= c && c <= 'Z':
				t.buf = append(t.buf, c+'a'-'A')
				runes++
			case c == '\'' && runes > 0:
				// "Russia's" → "russia": drop the possessive/contraction tail.
				flush()
				for i < len(s) && (s[i] >= 'a' && s[i] <= 'z') {
					i++
				}
			default:
				flush()
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			t.buf = utf8.AppendRune(t.buf, unicode.ToLower(r))
			runes++
		} else if r == '’' && runes > 0 {
			flush()
			for i < len(s) && (s[i] >= 'a' && s[i] <= 'z') {
				i++
			}
		} else {
			flush()
		}
	}
	flush()
	return dst
}

// stem strips a few frequent English inflections. It is deliberately light:
// it must not damage other languages, and matching only needs consistency.
func stem(w []byte) []byte {
	n := len(w)
	switch {
	case n > 5 && string(w[n-3:]) == "ies":
		return append(w[:n-3], 'y')
	case n > 5 && string(w[n-3:]) == "ing":
		return w[:n-3]
	case n > 4 && string(w[n-2:]) == "ed":
		return w[:n-2]
	case n > 3 && w[n-1] == 's' && w[n-2] != 's' && w[n-2] != 'u' && w[n-2] != 'i':
		return w[:n-1]
	}
	return w
}

// stopWords are function words of English, German, French and Spanish that
// carry no topic; they are stemmed forms where the stemmer changes them.
var stopWords = set(
	// English
	"the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "had", "her", "was",
	"one", "our", "out", "has", "have", "his", "him", "how", "its", "may", "new", "now", "own",
	"say", "said", "she", "too", "use", "who", "why", "yet", "also", "been", "from", "into",
	"more", "most", "much", "must", "only", "over", "such", "than", "that", "them", "then",
	"there", "these", "they", "this", "those", "very", "were", "what", "when", "where",
	"which", "while", "will", "with", "would", "could", "should", "about", "after", "again",
	"against", "before", "being", "between", "both", "each", "few", "other", "some", "their",
	"theirs", "through", "under", "until", "upon", "your", "an", "as", "at", "be", "by", "do",
	"he", "if", "in", "is", "it", "me", "my", "no", "of", "on", "or", "so", "to", "up", "us",
	"we", "did", "does", "doe", "just", "like", "well", "even", "still", "because", "off",
	"per", "via", "here", "whose", "whom", "ha", "wa", "told", "mr", "mrs", "ms",
	// German
	"der", "die", "das", "den", "dem", "des", "ein", "eine", "einer", "eines", "einem", "einen",
	"und", "oder", "aber", "ist", "sind", "war", "wurde", "wird", "werden", "hat", "haben",
	"nicht", "mit", "von", "auf", "für", "im", "zu", "zum", "zur", "auch", "sich", "dass",
	"als", "bei", "nach", "aus", "wie", "noch", "nur", "sie", "er", "es", "wir", "ich",
	// French
	"le", "la", "les", "un", "une", "des", "du", "et", "ou", "est", "sont", "dans", "pour",
	"par", "sur", "avec", "qui", "que", "pas", "plus", "ce", "cette", "ces", "il", "elle",
	"ils", "elles", "au", "aux", "se", "son", "sa", "ses", "été", "ont", "mais",
	// Spanish
	"el", "los", "las", "unos", "unas", "y", "o", "en", "por", "para", "con", "que", "del",
	"al", "se", "su", "sus", "lo", "es", "fue", "ha", "han", "como", "más", "pero", "sin",
	"sobre", "este", "esta", "ese", "esa",
)
