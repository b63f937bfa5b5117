package summarize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrEmpty is returned when an article has no text to summarize.
var ErrEmpty = errors.New("summarize: article has no text")

// Default budget of a summary: it fits a Telegram post with a button and a
// Discord embed description with room to spare.
const (
	DefaultMaxSentences = 3
	DefaultMaxChars     = 600
	// DefaultMaxCandidates bounds how many leading sentences are ranked.
	DefaultMaxCandidates = 120
)

// NameExtractive is the Summary.Summarizer value of the extractive summarizer.
const NameExtractive = "extractive"

// Options configures the extractive summarizer; zero fields take the defaults.
type Options struct {
	// MaxSentences is the most sentences a summary holds (default 3).
	MaxSentences int
	// MaxChars is the most characters (Unicode code points) a summary holds,
	// spaces between sentences included (default 600).
	MaxChars int
	// MaxCandidates is how many leading sentences are ranked (default 120);
	// it keeps the quadratic similarity graph cheap on huge inputs, and news
	// puts what matters first anyway.
	MaxCandidates int
}

func (o Options) withDefaults() Options {
	if o.MaxSentences <= 0 {
		o.MaxSentences = DefaultMaxSentences
	}
	if o.MaxChars <= 0 {
		o.MaxChars = DefaultMaxChars
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = DefaultMaxCandidates
	}
	return o
}

// weights are the ranking parameters, chosen by measurement (see README.md).
type weights struct {
	position   float64 // weight of the position prior
	posScale   float64 // sentences: the prior halves every posScale sentences
	centrality float64 // weight of graph centrality (LexRank-style PageRank)
	title      float64 // weight of title-term overlap
	redundancy float64 // a candidate more similar than this to a chosen one is dropped
	minTerms   int     // fewer content terms than this: a fragment, not a candidate
	dateline   bool    // strip "CITY (Agency) —" from the first sentence
	lede       bool    // always keep the first eligible sentence (the news lede)
	quote      float64 // subtracted from sentences that are mostly direct quotation
	single     bool    // quotation in single marks (‘…’, '…') counts as quotation
	captions   bool    // picture captions and page furniture are never candidates
	pad        bool    // after a better sentence overflows the budget, fill it with lower-ranked shorter ones
}

var defaultWeights = weights{
	position:   1.0,
	posScale:   8,
	centrality: 0.1,
	title:      0.3,
	quote:      0.2,
	single:     true,
	captions:   true,
	redundancy: 0.5,
	minTerms:   4,
	dateline:   true,
	lede:       true,
}

var _ Summarizer = (*Extractive)(nil)

// Extractive is the offline, deterministic summarizer: it picks whole
// sentences of the article by position, centrality and title overlap.
type Extractive struct {
	opts Options
	w    weights
}

// NewExtractive returns an extractive summarizer with the given budget.
func NewExtractive(opts Options) *Extractive {
	return &Extractive{opts: opts.withDefaults(), w: defaultWeights}
}

// SettingsKey identifies the summarizer's settings for cache keys; bump the
// version when the algorithm changes so old cached summaries are not reused.
func (e *Extractive) SettingsKey() string {
	return fmt.Sprintf("extractive/v2/s%d/c%d/k%d", e.opts.MaxSentences, e.opts.MaxChars, e.opts.MaxCandidates)
}

// Summarize returns up to MaxSentences sentences of the article, in article
// order, within MaxChars. It returns ErrEmpty when there is no text.
func (e *Extractive) Summarize(ctx context.Context, a Article) (Summary, error) {
	if err := ctx.Err(); err != nil {
		return Summary{}, fmt.Errorf("summarize: extractive: %w", err)
	}
	sents := e.Select(a)
	if len(sents) == 0 {
		return Summary{}, ErrEmpty
	}
	return Summary{Text: strings.Join(sents, " "), Summarizer: NameExtractive}, nil
}

// sentInfo is one candidate sentence.
type sentInfo struct {
	text  string
	runes int
	vec   []tw // sorted by id
	norm  float64
	nterm int
	ended bool // ends with terminal punctuation (not a heading, caption or button)
	furn  bool // picture caption or page furniture run into the text
}

// tw is one term of a sentence vector.
type tw struct {
	id int32
	w  float64
}

// Select returns the chosen sentences in article order (nil for an empty article).
func (e *Extractive) Select(a Article) []string {
	all := SplitSentences(a.Text)
	if len(all) == 0 {
		return nil
	}
	if e.w.dateline {
		all[0] = stripDateline(all[0])
	}
	if len(all) > e.opts.MaxCandidates {
		all = all[:e.opts.MaxCandidates]
	}
	n := len(all)
	tz := newTermizer()
	sents := make([]sentInfo, n)
	df := make([]int32, 0, 256)
	var ids []int32
	for i, s := range all {
		ids = tz.terms(s, ids[:0])
		sents[i] = sentInfo{text: s, runes: utf8.RuneCountInString(s), ended: endsSentence(s)}
		if e.w.captions {
			sents[i].furn = furniture(s)
		}
		sents[i].vec, sents[i].nterm = bag(ids)
		for len(df) < len(tz.vocab) {
			df = append(df, 0)
		}
		for _, t := range sents[i].vec {
			df[t.id]++
		}
	}
	// tf·isf weights, where isf is the inverse sentence frequency.
	for i := range sents {
		var sq float64
		for k, t := range sents[i].vec {
			w := t.w * math.Log(1+float64(n)/float64(df[t.id]))
			sents[i].vec[k].w = w
			sq += w * w
		}
		sents[i].norm = math.Sqrt(sq)
	}

	var titleTerms []int32
	if a.Title != "" {
		titleTerms = tz.terms(a.Title, nil)
	}
	cent := centrality(sents)
	scores := make([]float64, n)
	ledeDone := !e.w.lede
	for i := range sents {
		pos := math.Exp2(-float64(i) / e.w.posScale)
		scores[i] = e.w.position*pos + e.w.centrality*cent[i] + e.w.title*overlap(titleTerms, sents[i].vec)
		if quoted(sents[i].text, e.w.single) {
			scores[i] -= e.w.quote
		}
		if !ledeDone && sents[i].ended && !sents[i].furn && sents[i].nterm >= e.w.minTerms && sents[i].runes <= e.opts.MaxChars {
			scores[i] += 100
			ledeDone = true
		}
	}
	chosen := e.choose(sents, scores)
	out := make([]string, len(chosen))
	for k, i := range chosen {
		out[k] = sents[i].text
	}
	return out
}

// choose picks sentence indexes greedily by score within the budget,
// skipping fragments and near-duplicates, and returns them in article order.
func (e *Extractive) choose(sents []sentInfo, scores []float64) []int {
	order := make([]int, len(sents))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })

	// Fragments (headings, captions, buttons) only when nothing else exists.
	eligible := func(s *sentInfo) bool { return s.ended && !s.furn && s.nterm >= e.w.minTerms }
	anyEligible := false
	for i := range sents {
		if eligible(&sents[i]) {
			anyEligible = true
			break
		}
	}
	var chosen []int
	used := 0
	for _, i := range order {
		if len(chosen) == e.opts.MaxSentences {
			break
		}
		s := &sents[i]
		if anyEligible && !eligible(s) {
			continue
		}
		need := s.runes
		if len(chosen) > 0 {
			need++ // the joining space
		}
		if used+need > e.opts.MaxChars {
			// Once a better-ranked sentence has no room, the summary is
			// complete: padding the rest of the budget with a short
			// sentence ranked lower — typically a quote fragment far from
			// the lede — adds words, not news (measured: it costs ROUGE on
			// CNN/DM, where references are short; see README.md).
			if len(chosen) > 0 && !e.w.pad {
				break
			}
			continue
		}
		redundant := false
		for _, j := range chosen {
			if cosine(s, &sents[j]) > e.w.redundancy {
				redundant = true
				break
			}
		}
		if redundant {
			continue
		}
		chosen = append(chosen, i)
		used += need
	}
	if len(chosen) == 0 {
		// Every sentence is longer than the budget: cut the best one.
		best := order[0]
		if anyEligible {
			for _, i := range order {
				if eligible(&sents[i]) {
					best = i
					break
				}
			}
		}
		sents[best].text = TruncateText(sents[best].text, e.opts.MaxChars)
		return []int{best}
	}
	sort.Ints(chosen)
	return chosen
}

// bag turns term ids into a sorted vector of term counts.
func bag(ids []int32) ([]tw, int) {
	if len(ids) == 0 {
		return nil, 0
	}
	s := make([]int32, len(ids))
	copy(s, ids)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	vec := make([]tw, 0, len(s))
	for _, id := range s {
		if k := len(vec) - 1; k >= 0 && vec[k].id == id {
			vec[k].w++
			continue
		}
		vec = append(vec, tw{id: id, w: 1})
	}
	return vec, len(ids)
}

func cosine(a, b *sentInfo) float64 {
	if a.norm == 0 || b.norm == 0 {
		return 0
	}
	var dot float64
	x, y := a.vec, b.vec
	for len(x) > 0 && len(y) > 0 {
		switch {
		case x[0].id < y[0].id:
			x = x[1:]
		case x[0].id > y[0].id:
			y = y[1:]
		default:
			dot += x[0].w * y[0].w
			x, y = x[1:], y[1:]
		}
	}
	return dot / (a.norm * b.norm)
}

// overlap is the share of title terms that occur in the sentence.
func overlap(title []int32, vec []tw) float64 {
	if len(title) == 0 {
		return 0
	}
	hit := 0
	for _, id := range title {
		k := sort.Search(len(vec), func(k int) bool { return vec[k].id >= id })
		if k < len(vec) && vec[k].id == id {
			hit++
		}
	}
	return float64(hit) / float64(len(title))
}

// centrality runs PageRank on the cosine-similarity graph of the sentences
// (continuous LexRank) and scales the result so the top sentence has 1.
func centrality(sents []sentInfo) []float64 {
	n := len(sents)
	out := make([]float64, n)
	if n < 2 {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	sim := make([]float64, n*n)
	rowSum := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			c := cosine(&sents[i], &sents[j])
			sim[i*n+j], sim[j*n+i] = c, c
			rowSum[i] += c
			rowSum[j] += c
		}
	}
	const damping = 0.85
	pr := make([]float64, n)
	next := make([]float64, n)
	for i := range pr {
		pr[i] = 1 / float64(n)
	}
	for iter := 0; iter < 50; iter++ {
		// Sentences without edges spread their rank evenly (dangling nodes).
		var dangling float64
		for j := 0; j < n; j++ {
			if rowSum[j] == 0 {
				dangling += pr[j]
			}
		}
		base := (1-damping)/float64(n) + damping*dangling/float64(n)
		var delta float64
		for i := 0; i < n; i++ {
			v := 0.0
			row := sim[i*n : i*n+n]
			for j, s := range row {
				if s != 0 {
					v += s / rowSum[j] * pr[j]
				}
			}
			next[i] = base + damping*v
			delta += math.Abs(next[i] - pr[i])
		}
		pr, next = next, pr
		if delta < 1e-6 {
			break
		}
	}
	var top float64
	for _, v := range pr {
		top = math.Max(top, v)
	}
	for i, v := range pr {
		out[i] = v / top
	}
	return out
}

// endsSentence reports whether s ends with terminal punctuation, possibly
// followed by closing quotes or brackets.
func endsSentence(s string) bool {
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if isTerminator(r) {
			return true
		}
		if !isCloser(r) {
			return false
		}
		s = s[:len(s)-size]
	}
	return false
}

// stripDateline removes a wire-style dateline from the first sentence:
// "(CNN)", "LONDON (Reuters) -", "New Delhi, India (CNN)", "PARIS —".
func stripDateline(s string) string {
	if open := strings.IndexByte(s, '('); open >= 0 && open <= 60 {
		head := s[:open]
		if closeAt := strings.IndexByte(s[open:], ')'); closeAt > 2 && closeAt <= 25 &&
			!strings.ContainsAny(head, ".!?\"“") && isAgency(s[open+1:open+closeAt]) {
			if rest := trimDash(s[open+closeAt+1:]); startsUpper(rest) {
				return rest
			}
		}
	}
	// "PARIS — …": an upper-case place name followed by a dash.
	for _, dash := range []string{" — ", " -- ", " – ", " - "} {
		if k := strings.Index(s, dash); k > 1 && k <= 40 {
			head := s[:k]
			if strings.ToUpper(head) == head && strings.IndexFunc(head, unicode.IsLetter) >= 0 {
				if rest := s[k+len(dash):]; startsUpper(rest) {
					return rest
				}
			}
			break
		}
	}
	return s
}

func isAgency(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	if !unicode.IsUpper(r) {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && r != ' ' && r != '.' && r != '&' {
			return false
		}
	}
	return true
}

func trimDash(s string) string {
	s = strings.TrimLeft(s, " ")
	for _, d := range []string{"--", "—", "–", "-"} {
		if strings.HasPrefix(s, d) {
			return strings.TrimLeft(s[len(d):], " ")
		}
	}
	return s
}

func startsUpper(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r) || unicode.IsDigit(r) || isOpener(r)
}

// TruncateText shortens text to at most maxChars characters (code points):
// it keeps whole sentences when at least one fits, otherwise it cuts at a
// word boundary and appends "…". Text within the limit is returned as is.
func TruncateText(text string, maxChars int) string {
	text = strings.TrimSpace(text)
	if maxChars <= 0 || utf8.RuneCountInString(text) <= maxChars {
		return text
	}
	var kept []string
	used := 0
	for _, s := range SplitSentences(text) {
		need := utf8.RuneCountInString(s)
		if len(kept) > 0 {
			need++
		}
		if used+need > maxChars {
			break
		}
		kept = append(kept, s)
		used += need
	}
	if len(kept) > 0 {
		return strings.Join(kept, " ")
	}
	// No whole sentence fits: cut at the last space before the limit.
	limit := maxChars - 1 // room for the ellipsis
	cut := 0
	count := 0
	for i, r := range text {
		if count == limit {
			cut = i
			break
		}
		count++
		_ = r
	}
	head := text[:cut]
	if sp := strings.LastIndexFunc(head, unicode.IsSpace); sp > len(head)/2 {
		head = head[:sp]
	}
	return strings.TrimRightFunc(head, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + "…"
}

// furniture reports whether s is page furniture rather than story text:
// the picture captions, video prompts and time stamps that tabloid pages run
// into the body ("Scroll down for video", "PUBLISHED: … UPDATED: …",
// photo credits), which read as sentences to the splitter.
func furniture(s string) bool {
	for _, m := range furnitureMarks {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

var furnitureMarks = []string{
	"Scroll down for video", "scroll down for video", "SCROLL DOWN FOR VIDEO",
	"PUBLISHED:", "UPDATED:", "Photo credit:", "Picture credit:", "Photograph:", "(Photo:", "(Picture:", "(Image:",
	"Click on the photos", "click here to", "Click here to",
}

// quoted reports whether more than half of s lies inside quotation marks:
// summaries should state the story's facts, quotes are colour.
func quoted(s string, single bool) bool {
	in := false
	inside, total := 0, 0
	prev := ' '
	for k, r := range s {
		p := prev
		prev = r
		switch r {
		case '"':
			in = !in
			continue
		case '“', '«', '„':
			in = true
			continue
		case '”', '»':
			in = false
			continue
		case '‘', '\'', '’':
			if !single {
				break
			}
			// Single marks double as apostrophes ("don't", "O’Toole",
			// "players'"): one opens only before a word and after a space
			// or the start, and closes only after a word, before a space,
			// punctuation or the end.
			next, _ := utf8.DecodeRuneInString(s[k+utf8.RuneLen(r):])
			if k+utf8.RuneLen(r) == len(s) {
				next = ' '
			}
			switch {
			case !in && r != '’' && (unicode.IsSpace(p) || isOpener(p) || p == ':') && (unicode.IsLetter(next) || unicode.IsDigit(next)):
				in = true
				continue
			case in && r != '‘' && !unicode.IsSpace(p) && !unicode.IsLetter(next) && !unicode.IsDigit(next):
				in = false
				continue
			}
		}
		total++
		if in {
			inside++
		}
	}
	return total > 0 && 2*inside > total
}
