// Package rouge scores candidate summaries against reference summaries with
// ROUGE-N and ROUGE-Lsum F1, in the manner of Lin (2004) and Google's
// rouge-score package.
//
// Tokenization: the text is lower-cased, every run of characters other than
// a–z and 0–9 becomes a separator, and tokens are the remaining runs (so
// non-ASCII letters act as separators, as in rouge-score). No stemming and no
// stop-word removal. ROUGE-L is the summary-level ROUGE-Lsum: the union LCS
// of each reference sentence against all candidate sentences, with clipped
// token counts.
package rouge

import "strings"

// Score is precision, recall and F1 of one measure.
type Score struct {
	P, R, F float64
}

// Tokenize lower-cases s and returns its runs of [a-z0-9].
func Tokenize(s string) []string {
	s = strings.ToLower(s)
	var out []string
	start := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
		switch {
		case alnum && start < 0:
			start = i
		case !alnum && start >= 0:
			out = append(out, s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

func fscore(hits, candTotal, refTotal int) Score {
	var sc Score
	if candTotal > 0 {
		sc.P = float64(hits) / float64(candTotal)
	}
	if refTotal > 0 {
		sc.R = float64(hits) / float64(refTotal)
	}
	if sc.P+sc.R > 0 {
		sc.F = 2 * sc.P * sc.R / (sc.P + sc.R)
	}
	return sc
}

func ngrams(tokens []string, n int) map[string]int {
	m := make(map[string]int)
	for i := 0; i+n <= len(tokens); i++ {
		m[strings.Join(tokens[i:i+n], " ")]++
	}
	return m
}

// N is ROUGE-N of a candidate against a reference: clipped n-gram overlap.
func N(candidate, reference string, n int) Score {
	c := ngrams(Tokenize(candidate), n)
	r := ngrams(Tokenize(reference), n)
	hits, ct, rt := 0, 0, 0
	for g, k := range c {
		ct += k
		hits += min(k, r[g])
	}
	for _, k := range r {
		rt += k
	}
	return fscore(hits, ct, rt)
}

// Lsum is summary-level ROUGE-L over pre-split sentences of the candidate
// and the reference.
func Lsum(candSents, refSents []string) Score {
	cand := make([][]string, len(candSents))
	candCount := map[string]int{}
	ct := 0
	for i, s := range candSents {
		cand[i] = Tokenize(s)
		for _, t := range cand[i] {
			candCount[t]++
		}
		ct += len(cand[i])
	}
	refCount := map[string]int{}
	ref := make([][]string, len(refSents))
	rt := 0
	for i, s := range refSents {
		ref[i] = Tokenize(s)
		for _, t := range ref[i] {
			refCount[t]++
		}
		rt += len(ref[i])
	}
	hits := 0
	for _, r := range ref {
		union := map[int]bool{}
		for _, c := range cand {
			for _, k := range lcsIndexes(r, c) {
				union[k] = true
			}
		}
		// Visit the union in reference order so clipping is deterministic.
		for k := range r {
			if !union[k] {
				continue
			}
			t := r[k]
			if refCount[t] > 0 && candCount[t] > 0 {
				hits++
				refCount[t]--
				candCount[t]--
			}
		}
	}
	return fscore(hits, ct, rt)
}

// lcsIndexes returns the indexes in a of one longest common subsequence of a and b.
func lcsIndexes(a, b []string) []int {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return nil
	}
	t := make([]int, (n+1)*(m+1))
	w := m + 1
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			if a[i-1] == b[j-1] {
				t[i*w+j] = t[(i-1)*w+j-1] + 1
			} else {
				t[i*w+j] = max(t[(i-1)*w+j], t[i*w+j-1])
			}
		}
	}
	var idx []int
	for i, j := n, m; i > 0 && j > 0; {
		switch {
		case a[i-1] == b[j-1]:
			idx = append(idx, i-1)
			i--
			j--
		case t[(i-1)*w+j] >= t[i*w+j-1]:
			i--
		default:
			j--
		}
	}
	return idx
}
