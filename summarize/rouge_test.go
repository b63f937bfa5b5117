package summarize

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/summarize/internal/rouge"
)

type refArticle struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Text      string `json:"text"`
	Reference string `json:"reference"`
	Source    string `json:"source"`
}

func loadSummaries(t testing.TB) []refArticle {
	path := testutil.SharedPath(t, "data", "summaries.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	defer f.Close()
	var out []refArticle
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var a refArticle
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// lead returns the first n sentences; with maxChars > 0 it stops before the
// first sentence that would overflow the budget, like the summarizer does.
func lead(text string, n, maxChars int) []string {
	s := SplitSentences(text)
	if len(s) > n {
		s = s[:n]
	}
	if maxChars <= 0 {
		return s
	}
	used := 0
	for k, x := range s {
		need := utf8.RuneCountInString(x)
		if k > 0 {
			need++
		}
		if used+need > maxChars {
			if k == 0 {
				return []string{TruncateText(x, maxChars)}
			}
			return s[:k]
		}
		used += need
	}
	return s
}

type rougeAvg struct {
	r1, r2, rl float64
	chars      float64
	n          int
}

func (a *rougeAvg) add(cand []string, ref string) {
	joined := strings.Join(cand, " ")
	a.r1 += rouge.N(joined, ref, 1).F
	a.r2 += rouge.N(joined, ref, 2).F
	a.rl += rouge.Lsum(cand, SplitSentences(ref)).F
	a.chars += float64(utf8.RuneCountInString(joined))
	a.n++
}

func (a rougeAvg) mean() (r1, r2, rl, chars float64) {
	n := float64(a.n)
	return 100 * a.r1 / n, 100 * a.r2 / n, 100 * a.rl / n, a.chars / n
}

// systems under measurement; "extractive" is the shipped default.
func rougeSystems() []struct {
	name string
	run  func(refArticle) []string
} {
	def := NewExtractive(Options{})
	variant := func(mod func(*weights)) func(refArticle) []string {
		e := NewExtractive(Options{})
		mod(&e.w)
		return func(a refArticle) []string { return e.Select(Article{Title: a.Title, Text: a.Text}) }
	}
	return []struct {
		name string
		run  func(refArticle) []string
	}{
		{"extractive", func(a refArticle) []string { return def.Select(Article{Title: a.Title, Text: a.Text}) }},
		{"lead-3", func(a refArticle) []string { return lead(a.Text, 3, 0) }},
		{"lead-3@600", func(a refArticle) []string { return lead(a.Text, 3, DefaultMaxChars) }},
		// Ablations, reported so the choice of defaults stays visible.
		{"abl:position-only", variant(func(w *weights) { w.centrality, w.title = 0, 0 })},
		{"abl:centrality-only", variant(func(w *weights) { w.position, w.title = 0, 0 })},
		{"abl:no-title", variant(func(w *weights) { w.title = 0 })},
		{"abl:no-centrality", variant(func(w *weights) { w.centrality = 0 })},
		{"abl:no-dateline", variant(func(w *weights) { w.dateline = false })},
		{"abl:no-redundancy", variant(func(w *weights) { w.redundancy = 2 })},
		{"abl:no-fragment-filter", variant(func(w *weights) { w.minTerms = 0 })},
		{"abl:no-quote-penalty", variant(func(w *weights) { w.quote = 0 })},
		{"abl:centrality-heavy", variant(func(w *weights) { w.centrality = 1 })},
		{"abl:no-single-quotes", variant(func(w *weights) { w.single = false })},
		{"abl:no-caption-filter", variant(func(w *weights) { w.captions = false })},
		{"abl:pad-after-overflow", variant(func(w *weights) { w.pad = true })},
		{"abl:v1", variant(func(w *weights) { w.single, w.captions, w.pad = false, false, true })},
	}
}

// TestROUGE measures the extractive summarizer against Lead-3 on the human
// references of ../shared/data/summaries.jsonl, per source, and requires it
// to be at least as good as Lead-3 under the same budget on ROUGE-1/2.
func TestROUGE(t *testing.T) {
	arts := loadSummaries(t)
	systems := rougeSystems()
	res := map[string]map[string]*rougeAvg{} // source → system → scores
	// Split halves (file order within each source): a change to the ranking
	// is kept only if it helps, or does not hurt, both halves — a guard
	// against fitting the 50 articles, since acceptance uses held-out ones.
	perSource := map[string][]refArticle{}
	for _, a := range arts {
		perSource[a.Source] = append(perSource[a.Source], a)
	}
	halves := map[string][2]map[string]*rougeAvg{}
	for src, as := range perSource {
		res[src] = map[string]*rougeAvg{}
		h := [2]map[string]*rougeAvg{{}, {}}
		for k, a := range as {
			half := h[0]
			if 2*k >= len(as) {
				half = h[1]
			}
			for _, s := range systems {
				if res[src][s.name] == nil {
					res[src][s.name], h[0][s.name], h[1][s.name] = &rougeAvg{}, &rougeAvg{}, &rougeAvg{}
				}
				cand := s.run(a)
				res[src][s.name].add(cand, a.Reference)
				half[s.name].add(cand, a.Reference)
			}
		}
		halves[src] = h
	}
	sources := make([]string, 0, len(res))
	for s := range res {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-18s %-24s %4s %7s %7s %7s %7s\n", "source", "system", "n", "R-1 F", "R-2 F", "R-Lsum", "chars")
	for _, src := range sources {
		for _, s := range systems {
			a := res[src][s.name]
			r1, r2, rl, ch := a.mean()
			fmt.Fprintf(&b, "%-18s %-24s %4d %7.2f %7.2f %7.2f %7.0f\n", src, s.name, a.n, r1, r2, rl, ch)
		}
	}
	fmt.Fprintf(&b, "\nsplit halves (articles 1–25 and 26–50 of each source, file order)\n")
	fmt.Fprintf(&b, "%-20s %-24s %4s %7s %7s %7s %7s\n", "source/half", "system", "n", "R-1 F", "R-2 F", "R-Lsum", "chars")
	for _, src := range sources {
		for k, h := range halves[src] {
			for _, s := range systems {
				a := h[s.name]
				r1, r2, rl, ch := a.mean()
				fmt.Fprintf(&b, "%-20s %-24s %4d %7.2f %7.2f %7.2f %7.0f\n", fmt.Sprintf("%s/h%d", src, k+1), s.name, a.n, r1, r2, rl, ch)
			}
		}
	}
	t.Log(b.String())
	for _, src := range sources {
		e1, e2, _, _ := res[src]["extractive"].mean()
		l1, l2, _, _ := res[src]["lead-3@600"].mean()
		if e1 < l1 || e2 < l2 {
			t.Errorf("%s: extractive R-1/R-2 %.2f/%.2f below Lead-3@600 %.2f/%.2f", src, e1, e2, l1, l2)
		}
	}
}
