package store

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"
)

// benchVocab is a synthetic vocabulary; word frequencies follow Zipf's law as in real news text.
var benchVocab = func() []string {
	syl := strings.Fields("ba ce di fo gu ha je ki lo mu na pe ri so tu va we xi yo zu")
	var v []string
	for _, a := range syl {
		for _, b := range syl {
			for _, c := range syl {
				v = append(v, a+b+c)
			}
		}
	}
	return v
}()

// benchText is a 600-word article of six paragraphs drawn from benchVocab.
func benchText(i int) string {
	r := rand.New(rand.NewSource(int64(i)))
	z := rand.NewZipf(r, 1.1, 1, uint64(len(benchVocab)-1))
	var sb strings.Builder
	for p := 0; p < 6; p++ {
		for w := 0; w < 100; w++ {
			sb.WriteString(benchVocab[z.Uint64()])
			sb.WriteByte(' ')
		}
		sb.WriteString("end.\n\n")
	}
	return sb.String()
}

// BenchmarkInsertStories measures storing 10,000 stories, one transaction each as the pipeline does.
func BenchmarkInsertStories(b *testing.B) {
	ctx := context.Background()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		s := openTest(b)
		b.StartTimer()
		for i := 0; i < 10000; i++ {
			st := story("feed:1", fmt.Sprint(i), fmt.Sprintf("https://n.example/%d", i), fmt.Sprintf("Story %d", i), benchText(i))
			if _, _, err := s.UpsertStory(ctx, st); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*10000), "µs/story")
}

// BenchmarkSearchStories measures full-text search over 10,000 stories and reports p50/p99 latency.
func BenchmarkSearchStories(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	for i := 0; i < 10000; i++ {
		st := story("feed:1", fmt.Sprint(i), "", fmt.Sprintf("Story %d %s", i, benchVocab[i%len(benchVocab)]), benchText(i))
		st.PublishedAt = time.Unix(int64(i)*60, 0)
		if _, _, err := s.UpsertStory(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
	queries := []string{benchVocab[3], benchVocab[40], benchVocab[400], benchVocab[2] + " " + benchVocab[90], benchVocab[1500]}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := s.SearchStories(ctx, queries[i%len(queries)], 5); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
