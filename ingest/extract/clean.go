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
// join calls to action and newsletter self-promotion, syndication footers
// ("The post … appeared first on …"), comment invitations, advertisement
// markers, subscribe/share buttons (a block that is one short link), a
// "Read more:" teaser run at the end, and any block whose text matches one
// of dropPatterns (per-feed expressions, matched against the whole block
// text; anchor them with ^ and $ to match whole paragraphs).
//
// The rules work on whole blocks and only fire on short blocks or on
// blocks made of chrome vocabulary, so a story sentence is never cut.
func CleanBody(body store.Body, dropPatterns []*regexp.Regexp) store.Body {
	drop := make([]bool, len(body))
	for i, blk := range body {
		if blk.Kind == store.BlockPre {
			continue
		}
		text := blk.Text()
		drop[i] = IsBoilerplate(text) || isButton(blk, text) || matchesAny(text, dropPatterns)
	}
	dropTrailingTeasers(body, drop)
	out := make(store.Body, 0, len(body))
	for i, blk := range body {
		if !drop[i] {
			out = append(out, blk)
		}
	}
	return out
}

// isButton reports a block that is nothing but one short link labelled with
// a call to action ("Subscribe now", "Share The Weekly Ledger", "Leave a
// comment"): newsletter platforms render their buttons that way in feeds.
func isButton(blk store.Block, text string) bool {
	if !isLinkOnly(blk) {
		return false
	}
	t := normalizeLine(text)
	return len(strings.Fields(t)) <= buttonWords && buttonLabelRE.MatchString(t)
}

// buttonWords is the longest button label; longer linked text is a headline or a sentence.
const buttonWords = 6

// buttonLabelRE opens the label of a call-to-action button.
var buttonLabelRE = regexp.MustCompile(`^(subscribe|upgrade|share|give a gift|gift a|leave a (comment|reply)|comments?|forward|sign up|join|donate|support|follow|read (more|on|the full)|continue reading|listen|watch|download|get the app|view (all|comments|more)|start (a |your )?(free )?trial|get \d+% off|pledge)\b`)

// isLinkOnly reports a block whose visible text is all inside links.
func isLinkOnly(blk store.Block) bool {
	linked := false
	for _, sp := range blk.Spans {
		if strings.TrimSpace(sp.Text) == "" {
			continue
		}
		if sp.Href == "" {
			return false
		}
		linked = true
	}
	return linked
}

// dropTrailingTeasers marks the "Read more: …" run that ends many bodies:
// from a teaser label ("Read more:", "Related stories", "More from the
// Ledger:") to the end, when everything after the label is a link-only
// block (a list of headlines), another teaser or already-dropped chrome.
// A list of links at the end with no such label (sources, references) stays.
func dropTrailingTeasers(body store.Body, drop []bool) {
	start := len(body)
	for start > 0 {
		blk := body[start-1]
		if blk.Kind == store.BlockPre || !(drop[start-1] || isLinkOnly(blk) || isTeaserLine(blk.Text())) {
			break
		}
		start--
	}
	for i := start; i < len(body); i++ {
		if isTeaserLine(body[i].Text()) {
			for j := i; j < len(body); j++ {
				drop[j] = true
			}
			return
		}
	}
}

// teaserWords bounds a teaser line: a label and one headline.
const teaserWords = 40

// teaserLabelRE is a teaser label on its own or followed by a separator and a headline.
var teaserLabelRE = regexp.MustCompile(`^(read (more|next|also)|keep reading|continue reading|more (from|on|in|about) [^:|»›→]{1,60}|more stories|related( articles?| stories| coverage| content| reading| posts| news)?|see (more|also)|also (read|see|on [^:|»›→]{1,40})|further reading|you (may|might) also (like|enjoy)|recommended( reading| for you)?|most (read|popular|viewed)|don't miss|trending( now)?)\s*([:|»›→—–-]|$)`)

// isTeaserLine reports a line that introduces links to other stories.
func isTeaserLine(text string) bool {
	if !fewWords(text, teaserWords) {
		return false
	}
	t := normalizeLine(text)
	return t != "" && len(strings.Fields(t)) <= teaserWords && teaserLabelRE.MatchString(t)
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
	if !fewWords(text, maxRuleWords) {
		// No rule fires on a paragraph this long; skip normalising it.
		return false
	}
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
	case isSyndicationNote(t, len(words)):
		return true
	case isNewsletterPromo(t, len(words)):
		return true
	case isCommentInvite(t, len(words)):
		return true
	case len(words) <= buttonWords && buttonLineRE.MatchString(t):
		return true
	}
	return false
}

// syndicationWords bounds a syndication footer: a headline, a site name and a licence note.
const syndicationWords = 45

var (
	// wordpressFooterRE is the footer WordPress appends to every feed item:
	// "The post <title> appeared first on <site>." The site name must end
	// the line, so a sentence that goes on ("…, was shared widely") stays.
	wordpressFooterRE = regexp.MustCompile(`^the post \S.* (appeared first|first appeared) (on|at|in) [^,;]{1,80}$`)
	// republishedRE is a note about where the item was first published
	// ("This article was originally published on …", "… is republished from
	// … under a Creative Commons license", Medium's "Originally published at …").
	// It speaks of "this" item: "The post was first published on Facebook" is reporting.
	republishedRE = regexp.MustCompile(`^(this (post|article|story|piece|essay|column|newsletter|entry) (was|is|has been|first|originally) (originally |first |also )?(published|posted|republished|syndicated|appeared)|originally (published|posted) (at|on|in))\b.*\b(on|at|in|from|by|with)\b`)
)

// isSyndicationNote reports a footer that says where the item first
// appeared, which feeds and republishers append to the article.
func isSyndicationNote(t string, nwords int) bool {
	if nwords > syndicationWords {
		return false
	}
	return wordpressFooterRE.MatchString(strings.TrimRight(t, ". ")) || republishedRE.MatchString(t)
}

// promoWords bounds a newsletter self-promotion line.
const promoWords = 40

var (
	// promoOpenerRE is how newsletter platforms address the reader at the end
	// of a post: "Enjoyed this?", "Thanks for reading X!", "If you liked this…",
	// and, in readerSupportedRE, "X is a reader-supported publication".
	promoOpenerRE = regexp.MustCompile(`^((enjoyed|liked|loved|enjoying|like|love) (this|it|reading|the (post|article|newsletter|piece))\b|(did|do) you (enjoy|like)|thanks? (you )?for reading|if you (enjoyed|liked|loved|found|appreciate|value|like|enjoy)|want more( like this)?\b|(know|have) someone who)`)
	// readerSupportedRE is Substack's "<publication> is a reader-supported publication".
	readerSupportedRE = regexp.MustCompile(`^[^.!?]{1,60} is a reader-supported (publication|newsletter)\b`)
	// promoActionRE is what the promotion asks for; a plain mention of
	// "subscribers" in a story is not an action.
	promoActionRE = regexp.MustCompile(`\b(subscribe|subscribing|share (it|this|the post|with)|forward (it|this)|sign up|support (my|our|us|this|the)|become a (free |paid )?(subscriber|member|supporter)|consider (becoming|subscribing|supporting|upgrading|sharing)|upgrade|pledge|tell a friend|recommend (it|this|us))\b`)
)

// isNewsletterPromo reports Ghost/Substack-style self-promotion ("Enjoyed
// this? Subscribe to … for free.", "Thanks for reading X! Subscribe for
// free to receive new posts and support my work."): a short line that
// opens by addressing the reader about the post and asks for an action.
func isNewsletterPromo(t string, nwords int) bool {
	if nwords > promoWords {
		return false
	}
	opens := promoOpenerRE.MatchString(t) || strings.Contains(t, "reader-supported") && readerSupportedRE.MatchString(t)
	return opens && promoActionRE.MatchString(t)
}

// commentWords bounds a comment invitation.
const commentWords = 25

var (
	// commentPostRE opens a request to post a comment; on its own or
	// pointing "below" it is about this page's comment section, while
	// "Leave a comment on the planning portal" reports a consultation.
	commentPostRE = regexp.MustCompile(`^(leave|post|add|write|drop|share) (a |your |us a )?(comment|reply|thoughts?|views?)\b`)
	// commentAskRE opens a question to the reader, which must name the comments to count.
	commentAskRE = regexp.MustCompile(`^(let (us|me) know|tell (us|me)|what do you think|what are your thoughts|join the (discussion|conversation))\b`)
	// commentPlaceRE points at the page's comment section.
	commentPlaceRE = regexp.MustCompile(`\b(below|comments?( section)?)\b`)
)

// isCommentInvite reports "Leave a comment below", "Let us know what you
// think in the comments" and the like.
func isCommentInvite(t string, nwords int) bool {
	if nwords > commentWords {
		return false
	}
	if loc := commentPostRE.FindStringIndex(t); loc != nil {
		rest := t[loc[1]:]
		return strings.Trim(rest, " .!?:»›→") == "" || commentPlaceRE.MatchString(rest)
	}
	if loc := commentAskRE.FindStringIndex(t); loc != nil {
		return commentPlaceRE.MatchString(t[loc[1]:])
	}
	return false
}

// buttonLineRE matches the labels of newsletter buttons when they arrive
// as text: "Subscribe now", "Upgrade to paid", "Give a gift subscription",
// "Get 20% off for 1 year", "Share this post".
var buttonLineRE = regexp.MustCompile(`^(subscribe( now| for free| today| here)?|subscribed|upgrade( now| to (paid|premium|a paid subscription))|give a gift( subscription)?|gift a subscription|get \d+% off( for \d+ (years?|months?))?|start (a |your )?(free )?trial|share( this (post|article|story|page|newsletter|issue))?|leave a (comment|reply)|forward (this|it)( email| post)?( to a friend)?)[\s.:!>»›→|-]*$`)

// maxRuleWords is the longest paragraph any IsBoilerplate rule can match (a paywall notice).
const maxRuleWords = 80

// fewWords reports whether s has at most n whitespace-separated words, without allocating.
func fewWords(s string, n int) bool {
	words, inWord := 0, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			inWord = false
			continue
		}
		if !inWord {
			inWord = true
			if words++; words > n {
				return false
			}
		}
	}
	return true
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
	if nwords > 80 || !containsAny(t, accountStems) {
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

// accountStems are the stems paywallActionRE needs one of; looking for them
// first spares most story paragraphs the unanchored paywall expressions,
// which dominate the cost of cleaning.
var accountStems = []string{"log", "sign", "subscri", "account", "regist", "member"}

// ctaPhraseStems are the words ctaPhraseRE needs one of; looking for them
// first spares most lines the unanchored expression.
var ctaPhraseStems = []string{"sign up", "subscribe", "follow us", "like us", "join", "up to date", "latest", "inbox", "share this", "journalism", "download", "click here"}

// containsAny reports whether t contains one of subs.
func containsAny(t string, subs []string) bool {
	for _, s := range subs {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// isCallToAction reports a short line that asks the reader to subscribe,
// join, share or follow. It must open with an imperative and name what it
// sells, or use a stock phrase; all-caps slogans count too. Story sentences
// that start with "Join" or "Follow" are long or name no such object.
func isCallToAction(t, orig string, words []string) bool {
	n := len(words)
	if n == 0 || n > 25 {
		return false
	}
	if n <= 20 && containsAny(t, ctaPhraseStems) && ctaPhraseRE.MatchString(t) {
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
