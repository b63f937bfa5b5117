package extract

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/heraldnews/herald/internal/testutil"
)

// pagePR is the benchmark's per-page precision and recall of pred against truth.
func pagePR(truth, pred string) (p, r float64) {
	return shingleOverlap(shingles(truth), shingles(pred))
}

// score averages per-page precision and recall and returns F1 of the averages.
type score struct {
	sumP, sumR float64
	pages      int
	empty      []string
}

func (s *score) add(p, r float64) {
	s.sumP += p
	s.sumR += r
	s.pages++
}

func (s *score) prf() (p, r, f float64) {
	if s.pages == 0 {
		return 0, 0, 0
	}
	p, r = s.sumP/float64(s.pages), s.sumR/float64(s.pages)
	if p+r == 0 {
		return p, r, 0
	}
	return p, r, 2 * p * r / (p + r)
}

func TestShingleScorer(t *testing.T) {
	tests := []struct {
		name        string
		truth, pred string
		p, r        float64
	}{
		{"identical", "one two three four five", "one two three four five", 1, 1},
		{"both empty", "", "", 1, 1},
		{"empty prediction", "one two three four five", "", 0, 0},
		{"punctuation ignored", "one, two. three! four", "one two three four", 1, 1},
		{"case kept", "One two three four", "one two three four", 0, 0},
		// truth shingles: a b c d, b c d e; pred adds c d e f, d e f g (and keeps b c d e).
		{"extra text", "a b c d e", "a b c d e f g", 0.5, 1},
		{"short texts are one shingle", "a b", "a b", 1, 1},
		{"unicode words", "Größe überall naïve café", "Größe überall naïve café", 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, r := pagePR(tc.truth, tc.pred)
			if abs(p-tc.p) > 1e-9 || abs(r-tc.r) > 1e-9 {
				t.Errorf("pagePR = (%.3f, %.3f), want (%.3f, %.3f)", p, r, tc.p, tc.r)
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// benchPage is one page of the extraction benchmark.
type benchPage struct {
	id, url, truth string
	html           []byte
}

func loadExtractionSet(tb testing.TB) []benchPage {
	tb.Helper()
	dir := testutil.SharedPath(tb, "data", "extraction")
	raw, err := os.ReadFile(filepath.Join(dir, "ground-truth.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var gt map[string]struct {
		ArticleBody string `json:"articleBody"`
		URL         string `json:"url"`
	}
	if err := json.Unmarshal(raw, &gt); err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, 0, len(gt))
	for id := range gt {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	pages := make([]benchPage, 0, len(ids))
	for _, id := range ids {
		f, err := os.Open(filepath.Join(dir, "html", id+".html.gz"))
		if err != nil {
			tb.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			tb.Fatalf("%s: %v", id, err)
		}
		pages = append(pages, benchPage{id: id, url: gt[id].URL, truth: gt[id].ArticleBody, html: b})
	}
	return pages
}
