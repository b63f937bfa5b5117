package extract

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

func TestIsBoilerplate(t *testing.T) {
	junk := []string{
		"Skip to main content",
		"Skip to content",
		"Jump to navigation",
		"Already a subscriber? Make sure to log into your account before viewing this content.",
		"Already have an account? Sign in to keep reading.",
		"This article is for subscribers only. Subscribe now to continue reading.",
		"You have reached your free article limit. Log in or subscribe for unlimited access.",
		"54458872633 42d61d7ebe c",
		"IMG_4921.JPG",
		"DSC01234",
		"GettyImages-1182736451",
		"a1b2c3d4e5f6a7b8",
		"Advertisement",
		"ADVERTISEMENT",
		"- Advertisement -",
		"Story continues below advertisement",
		"Continue reading the main story",
		"Share",
		"Share this article",
		"Share on Facebook",
		"Facebook Twitter LinkedIn Email",
		"JOIN THE MOVEMENT",
		"SUBSCRIBE TODAY",
		"Keep up to date with our latest videos, news and content",
		"Sign up for our free weekly newsletter and never miss a story.",
		"Follow us on Twitter",
		"Subscribe to our YouTube channel for the latest videos.",
		"Download our app for breaking news alerts",
		"Related: Ten things to do this weekend",
		"Read more",
		"You may also like...",
		"Updated at 1:23 p.m.",
		"Published 11:11 PM EST Nov 19, 2019",
		"Home",
		"",
	}
	for _, s := range junk {
		if !IsBoilerplate(s) {
			t.Errorf("IsBoilerplate(%q) = false, want true", s)
		}
	}
	real := []string{
		"The United States has wrapped up diplomatic talks in Paris.",
		"Join the queue early, officials advised, because the ferry fills up fast.",
		"Follow-up talks are planned for next week in London.",
		"Subscribers to the service will pay more from June, the company said.",
		"Already a subscriber to three streaming services, Ms Lee said she would not add a fourth.",
		"Published in 1998, the novel sold two million copies.",
		"Updated figures show the deficit narrowed in March.",
		"Share prices fell 3% in early trading.",
		"Advertisement revenue fell for the third quarter running.",
		"Home sales rose 4% in October.",
		"More than 200 people attended.",
		"Support for the app grew among teenagers, the survey found.",
		"He asked readers to log in to their accounts and check their settings, warning that the breach affected your data too.",
		"2019",
		"12 | 5040 | 7",
		"Facebook and Twitter both declined to comment.",
		"Related coverage of the trial continues on page four, the editor said.",
		"Sign up for a Hulu ad-free account for $11.99 a month",
		"Watch the full interview below.",
	}
	for _, s := range real {
		if IsBoilerplate(s) {
			t.Errorf("IsBoilerplate(%q) = true, want false (a story sentence)", s)
		}
	}
}

func TestCleanTextOwnSample(t *testing.T) {
	raw, err := os.ReadFile("testdata/paywalled.txt")
	if err != nil {
		t.Fatal(err)
	}
	body := CleanText(string(raw), nil)
	want := []string{
		"The regional water board has approved a plan",
		"Board chair Ruth Anand said",
		"Residents will receive a letter",
		"The first contracts will be signed in May",
	}
	if len(body) != len(want) {
		t.Fatalf("got %d paragraphs, want %d:\n%s", len(body), len(want), body.PlainText())
	}
	for i, w := range want {
		if !strings.HasPrefix(body[i].Text(), w) || body[i].Kind != store.BlockParagraph {
			t.Errorf("paragraph %d = %.60q, want it to start %q", i, body[i].Text(), w)
		}
	}
}

func TestCleanTextDropPatterns(t *testing.T) {
	text := "Lead paragraph of the story.\n\nThis story was produced with support from the Example Foundation.\n\nSecond paragraph.\n\nPHOTO: Some Agency"
	drop := []*regexp.Regexp{
		regexp.MustCompile(`^This story was produced with support from`),
		regexp.MustCompile(`(?i)^photo:`),
	}
	got := CleanText(text, drop).PlainText()
	if want := "Lead paragraph of the story.\n\nSecond paragraph."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCleanTextLinePerParagraph(t *testing.T) {
	got := CleanText("Skip to main content\r\nFirst line of the story.\r\nSecond line of the story.\r\nAdvertisement", nil).PlainText()
	if want := "First line of the story.\n\nSecond line of the story."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCleanBodyKeepsPre(t *testing.T) {
	body := store.Body{{Kind: store.BlockPre, Spans: []store.Span{{Text: "Advertisement", Code: true}}}}
	if got := CleanBody(body, nil); len(got) != 1 {
		t.Errorf("preformatted text was cleaned: %v", got)
	}
}

// TestCleanPaywalledFixture checks the acceptance text: the copied
// page must come out as exactly the story's paragraphs.
func TestCleanPaywalledFixture(t *testing.T) {
	raw, err := os.ReadFile(testutil.SharedPath(t, "fixtures", "paywalled-article.txt"))
	if err != nil {
		t.Fatal(err)
	}
	body := CleanText(string(raw), nil)
	text := body.PlainText()
	if !strings.HasPrefix(text, "The United States has wrapped up diplomatic talks in Paris") {
		t.Errorf("cleaned text starts %.100q", text)
	}
	if !strings.HasSuffix(text, "Further discussions are set to take place in London next week.") {
		t.Errorf("cleaned text ends %q", text[max(0, len(text)-100):])
	}
	// Every paragraph of the input between the first and last story sentence is story and must survive intact.
	in := bodyFromLines(string(raw))
	first, last := -1, -1
	for i, b := range in {
		if strings.HasPrefix(b.Text(), "The United States has wrapped up") {
			first = i
		}
		if strings.HasSuffix(b.Text(), "London next week.") {
			last = i
		}
	}
	if first < 0 || last < first {
		t.Fatal("fixture changed: story boundaries not found")
	}
	var story []string
	for _, b := range in[first : last+1] {
		if !IsBoilerplate(b.Text()) {
			story = append(story, b.Text())
		}
	}
	if len(story) != len(body) {
		t.Errorf("got %d paragraphs, want %d", len(body), len(story))
	}
	for i := range min(len(story), len(body)) {
		if body[i].Text() != story[i] {
			t.Errorf("paragraph %d changed:\n got %.80q\nwant %.80q", i, body[i].Text(), story[i])
		}
	}
	for _, b := range append(in[:first:first], in[last+1:]...) {
		if strings.Contains(text, b.Text()) {
			t.Errorf("junk line kept: %q", b.Text())
		}
	}
	for _, junk := range []string{"Skip to main content", "Already a subscriber", "54458872633 42d61d7ebe c", "JOIN THE MOVEMENT", "Keep up to date with our latest videos"} {
		if strings.Contains(text, junk) {
			t.Errorf("junk kept: %q", junk)
		}
	}
	if strings.Count(text, "\n\n")+1 != 6 {
		t.Errorf("want the story's 6 paragraphs, got %d", strings.Count(text, "\n\n")+1)
	}
}

// TestCleanKeepsRealArticles runs the cleaner over real article texts —
// the summaries set and the human-marked bodies of the extraction set — and
// requires it to remove (almost) nothing: every paragraph it drops is a
// story sentence lost.
func TestCleanKeepsRealArticles(t *testing.T) {
	type article struct{ id, text string }
	var arts []article
	f, err := os.Open(testutil.SharedPath(t, "data", "summaries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var row struct{ ID, Text string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		arts = append(arts, article{"summaries/" + row.ID, row.Text})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, pg := range loadExtractionSet(t) {
		arts = append(arts, article{"extraction/" + pg.id[:12], pg.truth})
	}
	var paras, dropped, words, droppedWords int
	for _, a := range arts {
		in := bodyFromLines(a.text)
		out := CleanText(a.text, nil)
		paras += len(in)
		dropped += len(in) - len(out)
		words += len(strings.Fields(in.PlainText()))
		droppedWords += len(strings.Fields(in.PlainText())) - len(strings.Fields(out.PlainText()))
		kept := map[string]bool{}
		for _, b := range out {
			kept[b.Text()] = true
		}
		for _, b := range in {
			if !kept[b.Text()] {
				t.Logf("%s: dropped %.120q", a.id, b.Text())
			}
		}
	}
	t.Logf("%d articles, %d paragraphs: dropped %d paragraphs, %d of %d words", len(arts), paras, dropped, droppedWords, words)
	// The human-marked bodies contain a few link-only promos ("CLICK FOR FULL RESULTS"); allow one in a thousand words.
	if droppedWords*1000 > words {
		t.Errorf("cleaning dropped %d of %d words of real articles", droppedWords, words)
	}
}

// TestIsBoilerplateFeedFooters covers the junk feed platforms append to an
// item: syndication footers, newsletter self-promotion, buttons arriving as
// text and comment invitations — and the story sentences that share their words.
func TestIsBoilerplateFeedFooters(t *testing.T) {
	tests := []struct {
		class string
		text  string
		junk  bool
	}{
		{"syndication", "The post Council approves new footbridge over the Mill River appeared first on The Riverside Ledger.", true},
		{"syndication", "The post “Ten things to do this weekend” first appeared on City Guide", true},
		{"syndication", "This article was originally published on The Conversation. Read the original article.", true},
		{"syndication", "This article is republished from The Conversation under a Creative Commons license. Read the original article.", true},
		{"syndication", "This story was first published by Grist and is reproduced here as part of the Climate Desk collaboration.", true},
		{"syndication", "Originally published at example.org on March 3, 2025.", true},
		{"syndication", "The post office on Main Street will close in June, the council said.", false},
		{"syndication", "The post was first published on Facebook and was shared ten thousand times.", false},
		{"syndication", "The post, which appeared first on Reddit, was shared widely before it was deleted.", false},
		{"syndication", "The article was published in 1998 and cited more than four thousand times since.", false},
		{"syndication", "This story has no happy ending for the families who lost their homes.", false},
		{"promo", "Enjoyed this? Subscribe to Northern Dispatch for free.", true},
		{"promo", "Thanks for reading The Weekly Ledger! Subscribe for free to receive new posts and support my work.", true},
		{"promo", "The Weekly Ledger is a reader-supported publication. To receive new posts and support my work, consider becoming a free or paid subscriber.", true},
		{"promo", "If you enjoyed this post, please share it with a friend.", true},
		{"promo", "Liked this article? Forward it to someone who would enjoy it.", true},
		{"promo", "Know someone who would like this? Forward this email and tell a friend.", true},
		{"promo", "Enjoyed this year by thousands of visitors, the festival will return in August.", false},
		{"promo", "Thanks for reading, she wrote in her farewell note to subscribers.", false},
		{"promo", "If you enjoyed the first film, the sequel will not disappoint.", false},
		{"promo", "Subscribers to the service will pay more from June, the company said.", false},
		{"button", "Subscribe now", true},
		{"button", "Subscribe for free", true},
		{"button", "Upgrade to paid", true},
		{"button", "Give a gift subscription", true},
		{"button", "Get 20% off for 1 year", true},
		{"button", "Share this post", true},
		{"button", "Share", true},
		{"button", "Share prices fell 3% in early trading.", false},
		{"button", "Subscribe to what?", false},
		{"comment", "Leave a comment", true},
		{"comment", "Leave a comment below and tell us what you think.", true},
		{"comment", "Let us know what you think in the comments.", true},
		{"comment", "What do you think? Share your thoughts in the comments below.", true},
		{"comment", "Leave a comment on the planning portal before 5 June, the council urged residents.", false},
		{"comment", "Let us know if you see anything, the police said.", false},
		{"comment", "Tell me what you think, he said to the jury.", false},
		{"comment", "What do you think happens next, the judge asked.", false},
		{"teaser", "Read more: Storm closes the coast road for a second week", true},
		{"teaser", "READ MORE: Council tax to rise by five per cent", true},
	}
	for _, tt := range tests {
		if got := IsBoilerplate(tt.text); got != tt.junk {
			t.Errorf("%s: IsBoilerplate(%q) = %v, want %v", tt.class, tt.text, got, tt.junk)
		}
	}
}

// TestCleanBodyButtonsAndTeasers covers the block-level rules: a block that
// is one call-to-action link, and the "Read more" run that ends a body.
func TestCleanBodyButtonsAndTeasers(t *testing.T) {
	p := func(spans ...store.Span) store.Block { return store.Block{Kind: store.BlockParagraph, Spans: spans} }
	li := func(spans ...store.Span) store.Block { return store.Block{Kind: store.BlockListItem, Spans: spans} }
	txt := func(s string) store.Span { return store.Span{Text: s} }
	link := func(s string) store.Span {
		return store.Span{Text: s, Href: "https://news.example/" + strings.ReplaceAll(s, " ", "-")}
	}
	story := []store.Block{
		p(txt("The council voted on Thursday to fund a footbridge over the river, ending a decade of debate.")),
		p(txt("Construction starts in the autumn, the "), link("council said"), txt(".")),
	}
	tests := []struct {
		name string
		tail []store.Block
		keep []string // the texts of tail that survive
	}{
		{"subscribe button link", []store.Block{p(link("Subscribe now"))}, nil},
		{"share button naming the publication", []store.Block{p(link("Share The Weekly Ledger"))}, nil},
		{"comment button", []store.Block{p(link("Leave a comment"))}, nil},
		{"linked headline is not a button", []store.Block{p(link("Share prices fall as the bank cuts its forecast for the year"))}, []string{"Share prices fall as the bank cuts its forecast for the year"}},
		{"read more label and headline list", []store.Block{p(txt("Read more:")), li(link("Storm closes coast road")), li(link("School wins chess final"))}, nil},
		{"read more teaser lines", []store.Block{p(txt("Read more: "), link("Storm closes coast road")), p(txt("READ MORE — "), link("School wins chess final"))}, nil},
		{"more from the site", []store.Block{p(txt("More from the Riverside Ledger:")), li(link("Library extends weekend hours")), li(link("Bridge vote explained"))}, nil},
		{"teaser run with footer after it", []store.Block{p(txt("Related stories")), li(link("Storm closes coast road")), p(txt("The post Footbridge approved appeared first on The Riverside Ledger."))}, nil},
		{"links without a label are sources", []store.Block{li(link("Council minutes, 27 February")), li(link("River authority report"))}, []string{"Council minutes, 27 February", "River authority report"}},
		{"story text after a label ends no run", []store.Block{p(txt("Read more:")), li(link("Storm closes coast road")), p(txt("The mayor will open the bridge herself next spring, she told reporters."))}, []string{"Storm closes coast road", "The mayor will open the bridge herself next spring, she told reporters."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append(append(store.Body{}, story...), tt.tail...)
			var want []string
			for _, b := range story {
				want = append(want, b.Text())
			}
			want = append(want, tt.keep...)
			var got []string
			for _, b := range CleanBody(in, nil) {
				got = append(got, b.Text())
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("kept\n%q\nwant\n%q", got, want)
			}
		})
	}
}
