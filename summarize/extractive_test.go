package summarize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldnews/herald/internal/testutil"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkSummary asserts the budget and that every summary sentence is a
// sentence of the article.
func checkSummary(t *testing.T, s Summary, text string, opts Options) {
	t.Helper()
	opts = opts.withDefaults()
	if s.Summarizer != NameExtractive {
		t.Errorf("Summarizer = %q, want %q", s.Summarizer, NameExtractive)
	}
	if n := utf8.RuneCountInString(s.Text); n > opts.MaxChars {
		t.Errorf("summary has %d characters, budget %d: %q", n, opts.MaxChars, s.Text)
	}
	sents := SplitSentences(s.Text)
	if len(sents) > opts.MaxSentences {
		t.Errorf("summary has %d sentences, budget %d: %q", len(sents), opts.MaxSentences, s.Text)
	}
	article := map[string]bool{}
	for _, a := range SplitSentences(text) {
		article[a] = true
	}
	for _, x := range sents {
		if !article[x] {
			t.Errorf("summary sentence not in the article: %q", x)
		}
	}
}

func TestExtractiveArticle(t *testing.T) {
	text := readTestdata(t, "article-en.txt")
	a := Article{Title: "Riverton council approves footbridge over Mill River", Text: text}
	for _, opts := range []Options{{}, {MaxSentences: 2}, {MaxChars: 300}, {MaxSentences: 5, MaxChars: 1000}} {
		s, err := NewExtractive(opts).Summarize(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, s, text, opts)
		// The lede carries the story; a summary without it misses the news.
		if !strings.HasPrefix(s.Text, "Riverton's city council voted 7-2") {
			t.Errorf("opts %+v: summary does not start with the lede: %q", opts, s.Text)
		}
	}
}

func TestExtractiveDeterministic(t *testing.T) {
	a := Article{Title: "Riverton council approves footbridge", Text: readTestdata(t, "article-en.txt")}
	first, err := NewExtractive(Options{}).Summarize(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		s, err := NewExtractive(Options{}).Summarize(context.Background(), a)
		if err != nil || s != first {
			t.Fatalf("run %d: got %q, %v; first run %q", i, s.Text, err, first.Text)
		}
	}
}

func TestExtractiveEdgeInputs(t *testing.T) {
	long := strings.Repeat("word ", 300) // one 1,500-character "sentence"
	tests := []struct {
		name    string
		text    string
		want    string
		wantErr error
	}{
		{"empty", "", "", ErrEmpty},
		{"whitespace", "  \n\n  ", "", ErrEmpty},
		{"one sentence", "The mayor resigned on Friday.", "The mayor resigned on Friday.", nil},
		{"heading only", "Breaking news", "Breaking news", nil},
		{"sentence over budget is cut", long, strings.TrimSpace(strings.Repeat("word ", 119)) + "…", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewExtractive(Options{}).Summarize(context.Background(), Article{Text: tc.text})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if s.Text != tc.want {
				t.Fatalf("Text = %q, want %q", s.Text, tc.want)
			}
		})
	}
}

func TestExtractiveHugeInput(t *testing.T) {
	para := readTestdata(t, "article-en.txt")
	var b strings.Builder
	for b.Len() < 1<<20 {
		b.WriteString(para)
		b.WriteString("\n\n")
	}
	text := b.String()
	s, err := NewExtractive(Options{}).Summarize(context.Background(), Article{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s, para, Options{})
}

func TestExtractiveCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewExtractive(Options{}).Summarize(ctx, Article{Text: "Some text here."}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestExtractiveNonEnglish(t *testing.T) {
	tests := []struct {
		lang, title, text, lede string
	}{
		{"de", "Stadtrat beschließt neue Brücke",
			"Der Stadtrat von Riverstadt hat am Dienstag den Bau einer neuen Fußgängerbrücke über den Mühlbach beschlossen. " +
				"Die Brücke soll 4,2 Mio. Euro kosten und bis zum 3. Oktober nächsten Jahres fertig sein.\n\n" +
				"„Das ist ein großer Tag für den Ostteil der Stadt“, sagte Bürgermeisterin Lena Obst. Zwei Ratsmitglieder stimmten dagegen, u.a. wegen der Kosten. " +
				"Sie wollen zuerst die alte Straßenbrücke sanieren lassen.\n\n" +
				"Die Anwohner hatten seit Jahren eine Verbindung gefordert. Eine Petition mit über 3.000 Unterschriften wurde im Frühjahr übergeben.",
			"Der Stadtrat von Riverstadt hat am Dienstag"},
		{"fr", "Le conseil municipal vote une passerelle",
			"Le conseil municipal de Rivière-la-Ville a voté mardi la construction d'une passerelle sur la rivière. " +
				"Le projet coûtera 4,2 millions d'euros et les travaux commenceront en mars.\n\n" +
				"M. Lunel, conseiller d'opposition, a dit : « C'est trop cher. » Mme Obi, la maire, a répondu que la ville avait obtenu des subventions. " +
				"Les habitants de la rive est réclamaient un passage depuis trois ans.\n\n" +
				"Une pétition signée par plus de 3 000 personnes avait été remise à la mairie au printemps.",
			"Le conseil municipal de Rivière-la-Ville a voté"},
		{"es", "El ayuntamiento aprueba una pasarela",
			"El ayuntamiento de Villarrío aprobó el martes la construcción de una pasarela peatonal sobre el río. " +
				"La obra costará 4,2 millones de euros y empezará en marzo.\n\n" +
				"¿Por qué ahora? La alcaldesa, la Sra. Obi, explicó que la región ha aportado la mayor parte del dinero. " +
				"Dos concejales votaron en contra por el coste del proyecto.\n\n" +
				"Los vecinos de la orilla este llevaban tres años pidiendo un paso seguro.",
			"El ayuntamiento de Villarrío aprobó"},
	}
	for _, tc := range tests {
		t.Run(tc.lang, func(t *testing.T) {
			opts := Options{MaxSentences: 2, MaxChars: 400}
			s, err := NewExtractive(opts).Summarize(context.Background(), Article{Title: tc.title, Text: tc.text, Lang: tc.lang})
			if err != nil {
				t.Fatal(err)
			}
			checkSummary(t, s, tc.text, opts)
			if !strings.HasPrefix(s.Text, tc.lede) {
				t.Errorf("summary does not start with the lede: %q", s.Text)
			}
		})
	}
}

// TestExtractivePaywalledFixture summarizes the real story of the shared
// fixture, cut to the story paragraphs as the cleaner would, and checks that
// only story sentences come out, within budget.
func TestExtractivePaywalledFixture(t *testing.T) {
	path := testutil.SharedPath(t, "fixtures", "paywalled-article.txt")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("skipping: fixture %s absent: %v", path, err)
	}
	const first, last = "The United States has wrapped up", "London next week."
	s := string(raw)
	i, j := strings.Index(s, first), strings.Index(s, last)
	if i < 0 || j < i {
		t.Fatalf("fixture %s no longer holds the story markers", path)
	}
	story := s[i : j+len(last)]
	sum, err := NewExtractive(Options{}).Summarize(context.Background(), Article{Text: story})
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, sum, story, Options{})
	for _, junk := range []string{"54458872633", "subscriber", "JOIN THE MOVEMENT", "Keep up to date"} {
		if strings.Contains(sum.Text, junk) {
			t.Errorf("summary holds non-story text %q: %q", junk, sum.Text)
		}
	}
	if !strings.HasPrefix(sum.Text, first) {
		t.Errorf("summary misses the lede: %q", sum.Text)
	}
	t.Logf("summary (%d chars): %s", utf8.RuneCountInString(sum.Text), sum.Text)

	// Uncleaned, the fragment filter still keeps the chrome out.
	sum, err = NewExtractive(Options{}).Summarize(context.Background(), Article{Text: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, junk := range []string{"Skip to main content", "54458872633", "JOIN THE MOVEMENT", "Keep up to date"} {
		if strings.Contains(sum.Text, junk) {
			t.Errorf("uncleaned: summary holds %q: %q", junk, sum.Text)
		}
	}
}

func TestStripDateline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"(CNN)They may be close.", "They may be close."},
		{"New Delhi, India (CNN)As the earth shook, aid came.", "As the earth shook, aid came."},
		{"LONDON (Reuters) - Shares fell on Monday.", "Shares fell on Monday."},
		{"PARIS — Talks ended.", "Talks ended."},
		{"The plan (approved) passed.", "The plan (approved) passed."},
		{"Sales rose (by 5%) in May.", "Sales rose (by 5%) in May."},
		{"A - B testing works.", "A - B testing works."},
	}
	for _, tc := range tests {
		if got := stripDateline(tc.in); got != tc.want {
			t.Errorf("stripDateline(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func BenchmarkExtractive(b *testing.B) {
	text := readTestdata(b, "article-en.txt")
	a := Article{Title: "Riverton council approves footbridge over Mill River", Text: text}
	e := NewExtractive(Options{})
	ctx := context.Background()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Summarize(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitSentences(b *testing.B) {
	text := readTestdata(b, "article-en.txt")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		SplitSentences(text)
	}
}

func TestQuoted(t *testing.T) {
	tests := []struct {
		s            string
		double, both bool // want without / with single-mark quotation
	}{
		{`"We will build it this year, and we will pay for it," the mayor said.`, true, true},
		{`The mayor said the bridge would open in the spring.`, false, false},
		{`'We will build it this year, and we will pay for it,' the mayor said.`, false, true},
		{`‘We will build it this year, and we will pay for it,’ the mayor said.`, false, true},
		{`He added: ‘Of course, the wind-ups surfaced whenever he needed entertaining.`, false, true},
		// Apostrophes are not quotation marks.
		{`O’Toole didn't stop, and the players' union said it wasn't the council's fault.`, false, false},
		{`The council's engineers said the river's banks can't carry the weight.`, false, false},
		{`She called the plan 'bold' before the council voted on the bridge and the budget.`, false, false},
	}
	for _, tt := range tests {
		if got := quoted(tt.s, false); got != tt.double {
			t.Errorf("quoted(%q, false) = %v, want %v", tt.s, got, tt.double)
		}
		if got := quoted(tt.s, true); got != tt.both {
			t.Errorf("quoted(%q, true) = %v, want %v", tt.s, got, tt.both)
		}
	}
}

func TestFurniture(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"Scroll down for video Big day: the mayor cuts the ribbon on Saturday The bridge opened at noon.", true},
		{"PUBLISHED: 10:02 EST, 4 April 2015 | UPDATED: 11:40 EST, 4 April 2015", true},
		{"The bridge opened at noon (Photo: Riverton council) after two years of work.", true},
		{"Click on the photos above to see how the bridge was built.", true},
		{"The council published its report on the bridge and updated the cost estimate.", false},
		{"Readers can scroll down the council's page for the full budget.", false},
	}
	for _, tt := range tests {
		if got := furniture(tt.s); got != tt.want {
			t.Errorf("furniture(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

// Once a better-ranked sentence has no room left, the summary stops instead
// of padding the budget with a short sentence from far down the story; and
// caption lines are never chosen even when they rank high.
func TestExtractiveNoPadding(t *testing.T) {
	long := func(topic string) string {
		return "The council said the " + topic + " would be paid from the capital budget, and officials told residents at a public meeting that work on the " + topic + " would begin next spring once the state had approved the final design and the permits."
	}
	text := strings.Join([]string{
		long("new footbridge over the river"),
		long("widening of the riverside path"),
		long("lighting along the old mill road"),
		"Scroll down for video Opening day: residents cross the bridge The mayor spoke for an hour.",
		"Residents asked questions about parking near the site.",
		"A local choir sang at the end of the meeting.",
	}, " ")
	for _, tc := range []struct {
		name string
		pad  bool
		want int
	}{{"default", false, 2}, {"pad", true, 3}} {
		e := NewExtractive(Options{})
		e.w.pad = tc.pad
		got := e.Select(Article{Text: text})
		if len(got) != tc.want {
			t.Errorf("%s: %d sentences, want %d: %q", tc.name, len(got), tc.want, got)
		}
		for _, s := range got {
			if strings.Contains(s, "Scroll down") {
				t.Errorf("%s: caption line chosen: %q", tc.name, s)
			}
		}
	}
}
