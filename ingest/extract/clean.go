package extract

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/heraldnews/herald/store"
)

// CleanText cleans plain text (paragraphs separated by blank lines; a text
// without blank lines is taken one paragraph per line) into a body.
func CleanText(text string, dropPatterns []*regexp.Regexp) store.Body {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	if !strings.Contains(text, "\n\n") {
		text = strings.ReplaceAll(text, "\n", "\n\n")
	}
	return CleanBody(store.BodyFromText(text), dropPatterns)
}

// CleanBody returns body without its boilerplate blocks: navigation and
// paywall chrome, captions that are only image file ids, share / subscribe /
// join calls to action, advertisement markers, and any block whose text
// matches one of dropPatterns (per-feed expressions, matched against the
// whole block text; anchor them with ^ and $ to match whole paragraphs).
//
// The rules work on whole blocks and only fire on short blocks or on
// blocks made of chrome vocabulary, so a story sentence is never cut.
func CleanBody(body store.Body, dropPatterns []*regexp.Regexp) store.Body {
	out := make(store.Body, 0, len(body))
	for _, blk := range body {
		if blk.Kind != store.BlockPre && IsBoilerplate(blk.Text()) {
			continue
		}
		if matchesAny(blk.Text(), dropPatterns) {
			continue
		}
		out = append(out, blk)
	}
	return out
}

func matchesAny(text string, patterns []*regexp.Regexp) bool {
	text = strings.TrimSpace(text)
	for _, re := range patterns {
		if re != nil && re.MatchString(text) {
			return true
		}
	}
	return false
}

// IsBoilerplate reports whether one paragraph of text is page chrome rather
// than story text.
func IsBoilerplate(text string) bool {
	t := normalizeLine(text)
	if t == "" {
		return true
	}
	words := strings.Fields(t)
	switch {
	case isFileIDCaption(words):
		return true
	case len(words) <= 8 && (chromeLineRE.MatchString(t) || adLineRE.MatchString(t)):
		return true
	case len(words) <= 20 && chromePrefixRE.MatchString(t):
		return true
	case isDateline(t, words):
		return true
	case isShareBar(words):
		return true
	case isPaywallNotice(t, len(words)):
		return true
	case isCallToAction(t, text, words):
		return true
	}
	return false
}

// normalizeLine lowercases text, folds typographic quotes and collapses
// whitespace, so rules can be written once.
func normalizeLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\u2019', '\u2018', '\u02bc':
			return '\''
		case '\u201c', '\u201d':
			return '"'
		case '\u00a0':
			return ' '
		}
		return unicode.ToLower(r)
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// chromeLineRE matches whole short lines that only navigate the page.
var chromeLineRE = regexp.MustCompile(`^(` +
	`(skip|jump) to (the )?(main |primary )?(content|navigation|article|search|menu|footer)` +
	`|skip navigation|toggle (navigation|menu)|open (the )?menu|close( menu)?|main menu|menu|search|home( ?page)?` +
	`|back to top|return to top|scroll to top` +
	`|read (more|next|the full (story|article))|continue reading|related( articles| stories| content| posts| news)?|recommended( for you)?|most (read|popular|viewed)( in [\w ]+)?` +
	`|more|explore further|you (may|might) also like( \.\.\.|…)?|don't miss|see more|see also|also read|trending( now)?` +
	`|(show|load|view) (more|all)( comments| stories| articles)?|comments?|\d+ comments?|leave a (comment|reply)` +
	`|(sign|log) ?(in|out)|log ?in|register|my account|subscribe|newsletter|sign up` +
	`|image( source)?|photo|video|gallery|listen( to (this|the) (article|story))?|print( this (article|page))?` +
	`)[\s.:!>»›|-]*$`)

// chromePrefixRE matches teaser and tag lines: a chrome label followed by a
// colon and a headline or tag list ("Related: …", "Filed under: …").
var chromePrefixRE = regexp.MustCompile(`^(related( articles?| stories| coverage| content| reading)?|see (more|also)|also( read| see)?|read (more|also|next)|more( on this( story)?)?|you (may|might) also like|don't miss|recommended( reading)?|most (read|popular|viewed)|filed under|tags|topics|trending( now)?)\s*:`)

// datelineRE matches the label of an "Updated at …" / "Published …" line.
var datelineRE = regexp.MustCompile(`^(last )?(updated|published|posted|modified)( at| on)?:?$`)

// dateTokenRE matches the tokens a date or time is written with.
var dateTokenRE = regexp.MustCompile(`^(\d{1,4}([:./-]\d{1,4}){0,2}(am|pm|h)?|[ap]\.?m\.?|at|on|by|the|of|\||-|–|[a-z]{2,4}t|utc|gmt|jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?|oct(ober)?|nov(ember)?|dec(ember)?|mon(day)?|tue(sday)?|wed(nesday)?|thu(rsday)?|fri(day)?|sat(urday)?|sun(day)?)$`)

// isDateline reports a line that only states when the story was published
// or updated ("Updated at 1:23 p.m.", "Published 11:11 PM EST Nov 19, 2019"),
// which the Result carries as metadata. Every token after the label must be
// part of a date, so "Published in 1998, the novel …" stays.
func isDateline(t string, words []string) bool {
	if len(words) < 2 || len(words) > 14 {
		return false
	}
	label := 0
	for i := 1; i <= 3 && i < len(words); i++ {
		if datelineRE.MatchString(strings.Join(words[:i], " ")) {
			label = i
		}
	}
	if label == 0 {
		return false
	}
	digit := false
	for _, w := range words[label:] {
		w = strings.Trim(w, ",.()")
		if w == "" {
			continue
		}
		if !dateTokenRE.MatchString(w) {
			return false
		}
		digit = digit || strings.ContainsAny(w, "0123456789")
	}
	return digit
}

// adLineRE matches advertisement markers and "continues below" notices.
var adLineRE = regexp.MustCompile(`^[\s\-–—(\[]*(` +
	`advertisements?|advertising|ad|ads|sponsored( content| post)?|paid (content|post)|promoted( content)?` +
	`|(story|article|content|text) continues below( this)?( advertisement| ad)?` +
	`|continue reading (the )?(main story|below)( advertisement)?|scroll (down )?to continue( reading| with content)?` +
	`|werbung|anzeige|publicité|publicidad|pubblicità|reclame|реклама|广告` +
	`)[\s.:!)\]\-–—]*$`)

// fileIDToken matches a token that is an image-library or file identifier:
// long digit runs, hex hashes, camera file names, file names with an image
// extension, and stock-agency ids.
var fileIDToken = regexp.MustCompile(`^(` +
	`\d{6,}` +
	`|[0-9a-f]{8,}` +
	`|(img|dsc|dscn|dscf|dcim|pxl|mvimg|gopr|p)[_-]?\d{3,}[\w-]*` +
	`|[\w-]+\.(jpe?g|png|gif|webp|heic|tiff?|avif|bmp)` +
	`|[a-z]*[_-]?\d{5,}[_-][\w-]+` +
	`|[a-z]+[_-]?\d{5,}` +
	`)$`)

// fileIDFiller matches the short tokens that accompany an id in a file name
// (Flickr's size letter "c", a counter, "copy").
var fileIDFiller = regexp.MustCompile(`^([a-z]|\d{1,5}|copy|[0-9a-f]{1,7}|[a-z]_?\d+)$`)

// isFileIDCaption reports a caption made only of file / photo-library ids,
// which a page shows when an image's alt text is its file name.
func isFileIDCaption(words []string) bool {
	if len(words) == 0 || len(words) > 6 {
		return false
	}
	ids := 0
	for _, w := range words {
		w = strings.Trim(w, "()[],;:")
		switch {
		case fileIDToken.MatchString(w) && strings.ContainsAny(w, "0123456789"):
			ids++
		case fileIDFiller.MatchString(w):
		default:
			return false
		}
	}
	return ids > 0
}

// shareNetworks are the names a share bar lists.
var shareNetworks = map[string]bool{
	"share": true, "facebook": true, "twitter": true, "x": true, "linkedin": true, "whatsapp": true,
	"email": true, "e-mail": true, "mail": true, "pinterest": true, "reddit": true, "telegram": true,
	"print": true, "copy": true, "link": true, "tweet": true, "messenger": true, "flipboard": true,
	"tumblr": true, "sms": true, "this": true, "article": true, "story": true, "on": true, "via": true,
	"url": true, "comments": true, "comment": true, "save": true, "pin": true, "threads": true, "bluesky": true,
	"mastodon": true, "instagram": true, "youtube": true, "tiktok": true, "to": true, "the": true, "|": true,
	"·": true, "•": true, "/": true, "-": true, "options": true, "more": true, "close": true, "opens": true,
	"in": true, "new": true, "window": true, "or": true, "and": true,
}

// networkNames are the share targets; a line of labels without the word
// "share" needs three of them to count as a share bar.
var networkNames = map[string]bool{"facebook": true, "twitter": true, "x": true, "linkedin": true, "whatsapp": true, "pinterest": true, "reddit": true, "telegram": true, "email": true, "e-mail": true, "messenger": true, "flipboard": true, "bluesky": true, "threads": true}

// isShareBar reports a line made only of share-button labels.
func isShareBar(words []string) bool {
	if len(words) == 0 || len(words) > 14 {
		return false
	}
	share, networks := false, 0
	for _, w := range words {
		w = strings.Trim(w, ".,:;!()[]")
		if w == "" {
			continue
		}
		if !shareNetworks[w] {
			return false
		}
		share = share || w == "share" || w == "tweet"
		if networkNames[w] {
			networks++
		}
	}
	return share || networks >= 3
}

// Paywall notices address the reader about their account: both vocabularies must appear.
var (
	paywallAccountRE = regexp.MustCompile(`\b(already (a |an )?(subscriber|member)|already have an account|subscribers? only|for (paid |premium )?(subscribers|members) only|(this|the) (content|article|story) is (only )?(available|for)|to continue reading|free articles? (left|remaining)|reached your (free )?(article |monthly )?limit|subscribe (now|today|to (continue|read|keep reading|unlock))|unlock (this|full) (article|story|access)|you('ve| have) (read|used)|become a (subscriber|member))`)
	paywallActionRE  = regexp.MustCompile(`\b(log ?in|log into|sign ?in|sign into|sign up|subscribe|subscription|account|register|member(ship)?)\b`)
	paywallReaderRE  = regexp.MustCompile(`\b(you|your|you're|you've)\b`)
)

// isPaywallNotice reports a paragraph that tells the reader to log in or
// subscribe. Real sentences about subscriptions are reported speech in the
// third person; a notice speaks to "you" and names the account action.
func isPaywallNotice(t string, nwords int) bool {
	if nwords > 80 {
		return false
	}
	if !paywallAccountRE.MatchString(t) || !paywallActionRE.MatchString(t) {
		return false
	}
	// A notice is written to the reader; short ones ("Subscribers only. Log in") need not say "you".
	return paywallReaderRE.MatchString(t) || nwords <= 12
}

var (
	// ctaStartRE is an imperative that opens a call to action.
	ctaStartRE = regexp.MustCompile(`^(join|subscribe|sign up|signup|sign-up|register|follow|donate|become a|download|keep up|stay (up|in|informed|connected|updated|tuned)|never miss|don't miss|click|tap|share|be the first|enter your email)\b`)
	// sloganRE opens a shouted membership slogan ("JOIN THE MOVEMENT").
	sloganRE = regexp.MustCompile(`^(join|subscribe|sign up|donate|follow|become|register|support)\b`)
	// ctaObjectRE names what a call to action sells.
	ctaObjectRE = regexp.MustCompile(`\b(newsletters?|podcasts?|channel|youtube|facebook|twitter|instagram|tiktok|telegram|whatsapp|app|inbox|mailing list|updates|alerts|movement|membership|member|subscribers?|subscription|patreon|journalism|free trial|videos)\b`)
	// ctaPhraseRE is a stock call-to-action phrase anywhere in a short line.
	ctaPhraseRE = regexp.MustCompile(`\b(sign up for (our|the|free) (free )?(daily |weekly )?(newsletters?|emails?|alerts|updates)|subscribe to (our|the)|follow us|like us on|join (us|our|the movement|the conversation|the community)|keep up to date with|stay up to date with|get (our|the) latest|latest (videos|news|stories|updates),? (news|videos|stories|and)|delivered (straight |directly )?to your inbox|share this (article|story|post|page)|support (our|independent) journalism|download (our|the) app|click here to (subscribe|sign up|read more|download))\b`)
)

// isCallToAction reports a short line that asks the reader to subscribe,
// join, share or follow. It must open with an imperative and name what it
// sells, or use a stock phrase; all-caps slogans count too. Story sentences
// that start with "Join" or "Follow" are long or name no such object.
func isCallToAction(t, orig string, words []string) bool {
	n := len(words)
	if n == 0 || n > 25 {
		return false
	}
	if ctaPhraseRE.MatchString(t) && n <= 20 {
		return true
	}
	if !ctaStartRE.MatchString(t) {
		return false
	}
	if ctaObjectRE.MatchString(t) && n <= 12 {
		return true
	}
	// "JOIN THE MOVEMENT": a shouted imperative slogan with no sentence around it.
	return n <= 6 && sloganRE.MatchString(t) && isAllCaps(orig) && !strings.ContainsAny(strings.TrimSpace(orig), ".?")
}

func isAllCaps(s string) bool {
	letters := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			if unicode.IsLower(r) {
				return false
			}
			letters++
		}
	}
	return letters > 0
}

// bodyFromLines splits text as CleanText does, without cleaning.
func bodyFromLines(text string) store.Body {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	if !strings.Contains(text, "\n\n") {
		text = strings.ReplaceAll(text, "\n", "\n\n")
	}
	return store.BodyFromText(text)
}
