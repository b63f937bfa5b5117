package extract

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// minShippedF1 is the regression floor for TestExtractionBenchmark: the F1
// measured when the combination was chosen (0.977) minus a small margin for
// library updates.
const minShippedF1 = 0.97

// TestExtractionBenchmark scores extraction on ../shared/data/extraction/
// with the benchmark's shingle metric and logs precision, recall and F1 for
// readability alone, trafilatura alone and what Extract ships, plus the
// pages where the shipped output is empty although the page has an article.
//
//	go test ./ingest/extract -run TestExtractionBenchmark -v
func TestExtractionBenchmark(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the extraction benchmark in -short mode")
	}
	pages := loadExtractionSet(t)
	var rd, tf, rdClean, tfClean, shipped score
	picked := map[string]int{}
	for _, pg := range pages {
		doc, base, _, err := parsePage(pg.html, pg.url, "")
		if err != nil {
			t.Fatalf("%s: %v", pg.id, err)
		}
		rc, tc := readabilityCandidate(doc, base), trafilaturaCandidate(doc, base, nil)
		rd.add(pagePR(pg.truth, rc.body.PlainText()))
		tf.add(pagePR(pg.truth, tc.body.PlainText()))
		rdClean.add(pagePR(pg.truth, CleanBody(rc.body, nil).PlainText()))
		tfClean.add(pagePR(pg.truth, CleanBody(tc.body, nil).PlainText()))

		res, err := Extract(context.Background(), pg.html, pg.url, "", Options{})
		text := res.Body.PlainText()
		if strings.TrimSpace(pg.truth) != "" && strings.TrimSpace(text) == "" {
			shipped.empty = append(shipped.empty, pg.id)
			t.Logf("empty output: %s %s (%v)", pg.id, pg.url, err)
		}
		picked[res.Extractor]++
		p, r := pagePR(pg.truth, text)
		shipped.add(p, r)
		if f := f1(p, r); f < 0.8 {
			t.Logf("weak page: %s F1=%.3f P=%.3f R=%.3f %s", pg.id[:12], f, p, r, pg.url)
		}
	}
	for _, row := range []struct {
		name string
		s    *score
	}{{"readability", &rd}, {"trafilatura", &tf}, {"readability+clean", &rdClean}, {"trafilatura+clean", &tfClean}, {"shipped", &shipped}} {
		p, r, f := row.s.prf()
		t.Logf("%-17s pages=%d precision=%.4f recall=%.4f F1=%.4f", row.name, row.s.pages, p, r, f)
	}
	t.Logf("shipped output came from %v; empty pages with an article: %d", picked, len(shipped.empty))
	if _, _, f := shipped.prf(); f < minShippedF1 {
		t.Errorf("shipped F1 %.4f below the regression floor %.2f", f, minShippedF1)
	}
	if len(shipped.empty) > 0 {
		t.Errorf("%d pages with an article came out empty: %v", len(shipped.empty), shipped.empty)
	}
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// BenchmarkExtract reports the time to extract one page of the benchmark
// set (both extractors, choice and cleaning), cycling through all pages.
//
//	go test ./ingest/extract -run '^$' -bench BenchmarkExtract -benchtime 91x
func BenchmarkExtract(b *testing.B) {
	pages := loadExtractionSet(b)
	var bytes int64
	for _, pg := range pages {
		bytes += int64(len(pg.html))
	}
	b.SetBytes(bytes / int64(len(pages)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pg := pages[i%len(pages)]
		if _, err := Extract(context.Background(), pg.html, pg.url, "", Options{}); err != nil {
			b.Fatalf("%s: %v", pg.id, err)
		}
	}
}

// BenchmarkExtractSynthetic times the package's own sample page, so there
// is a figure even without the shared data.
func BenchmarkExtractSynthetic(b *testing.B) {
	page := []byte(articlePage(`<meta charset="utf-8">`, frenchParas...))
	u, _ := url.Parse("https://cafe.example/news/1")
	for b.Loop() {
		if _, err := Extract(context.Background(), page, u.String(), "", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
