package rouge

import (
	"math"
	"reflect"
	"testing"
)

func TestTokenize(t *testing.T) {
	got := Tokenize("The U.S. economy grew 3.5% — Müller's view!")
	want := []string{"the", "u", "s", "economy", "grew", "3", "5", "m", "ller", "s", "view"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tokenize = %q, want %q", got, want)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestN(t *testing.T) {
	tests := []struct {
		name         string
		cand, ref    string
		n            int
		wantP, wantR float64
	}{
		{"identical", "the cat sat", "the cat sat", 1, 1, 1},
		{"disjoint", "dogs bark", "the cat sat", 1, 0, 0},
		// cand: the,cat,the,cat (4); ref: the,cat,sat,on,the,mat (6); clipped hits: the×2, cat×1 = 3.
		{"clipped unigrams", "the cat the cat", "the cat sat on the mat", 1, 3.0 / 4, 3.0 / 6},
		// bigrams cand: "the cat","cat sat","sat down" (3); ref: "the cat","cat sat","sat on","on the","the mat" (5); hits 2.
		{"bigrams", "the cat sat down", "the cat sat on the mat", 2, 2.0 / 3, 2.0 / 5},
		{"empty candidate", "", "the cat", 1, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := N(tc.cand, tc.ref, tc.n)
			if !near(s.P, tc.wantP) || !near(s.R, tc.wantR) {
				t.Fatalf("N = %+v, want P=%v R=%v", s, tc.wantP, tc.wantR)
			}
			wantF := 0.0
			if tc.wantP+tc.wantR > 0 {
				wantF = 2 * tc.wantP * tc.wantR / (tc.wantP + tc.wantR)
			}
			if !near(s.F, wantF) {
				t.Fatalf("F = %v, want %v", s.F, wantF)
			}
		})
	}
}

func TestLsum(t *testing.T) {
	// The worked example of Lin (2004), section 3.2: reference r = w1 w2 w3 w4 w5,
	// candidate sentences c1 = w1 w2 w6 w7 w8 and c2 = w1 w3 w8 w9 w5.
	// Union LCS = w1 w2 w3 w5: 4 hits, recall 4/5, precision 4/10.
	s := Lsum([]string{"w1 w2 w6 w7 w8", "w1 w3 w8 w9 w5"}, []string{"w1 w2 w3 w4 w5"})
	if !near(s.R, 4.0/5) || !near(s.P, 4.0/10) {
		t.Fatalf("Lsum = %+v, want R=0.8 P=0.4", s)
	}
	// Order inside a sentence matters; order of sentences does not.
	a := Lsum([]string{"b a"}, []string{"a b"})
	if !near(a.R, 0.5) {
		t.Fatalf("reversed pair: R = %v, want 0.5", a.R)
	}
	b := Lsum([]string{"c d", "a b"}, []string{"a b", "c d"})
	if !near(b.F, 1) {
		t.Fatalf("swapped sentences: F = %v, want 1", b.F)
	}
}
