package bots

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/heraldnews/herald/store"
)

// Command limits.
const (
	// LatestDefault and LatestMax bound `latest [n]`.
	LatestDefault = 5
	LatestMax     = 10
	// SearchMax is how many stories `search` returns.
	SearchMax = 10
	// maxQuery bounds the search text a reader may send.
	maxQuery = 200
)

// CommandOptions configures the reader commands.
type CommandOptions struct {
	// SiteName names the publication in replies; "our website" style wording is used when empty.
	SiteName string
	// SubscribeURL is where readers subscribe and get a link code (config [bots] subscribe_url).
	SubscribeURL string
	// LinkPolicy limits failed link attempts per chat account; zero fields take store.DefaultLinkPolicy.
	LinkPolicy store.LinkPolicy
	// Logger receives errors; link codes and command arguments are never logged. Nil uses slog.Default.
	Logger *slog.Logger
}

// Commands answers reader commands from any platform: linking, status, DM preferences, story lookup.
// It decides on the paywall for on-demand articles with store.Entitled at the moment of asking.
type Commands struct {
	st   *store.Store
	opts CommandOptions
	log  *slog.Logger
}

var _ Handler = (*Commands)(nil)

// NewCommands builds the command handler on st.
func NewCommands(st *store.Store, opts CommandOptions) *Commands {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Commands{st: st, opts: opts, log: opts.Logger.With("component", "commands")}
}

// CommandInfo describes one reader command for menus and help (Telegram setMyCommands, Discord registration).
type CommandInfo struct {
	Name        string
	Args        string // e.g. "CODE", "[n]"; empty when the command takes none
	Description string
}

// CommandList returns the reader commands in the order help shows them.
func CommandList() []CommandInfo {
	return []CommandInfo{
		{"latest", "[n]", fmt.Sprintf("the latest stories (%d by default, up to %d)", LatestDefault, LatestMax)},
		{"search", "WORDS", "find stories by words in their title or text"},
		{"story", "NUMBER", "one story; the full article if your subscription is linked and active"},
		{"link", "CODE", "link your subscription with a code from the website (in a private chat)"},
		{"unlink", "", "unlink your subscription from this account"},
		{"status", "", "your subscription and whether full articles are sent"},
		{"pause", "", "stop sending new full articles here"},
		{"resume", "", "send new full articles here again"},
		{"help", "", "this list"},
	}
}

// plainTextHint answers a private message that is not a command (a Request with an empty Command).
// The text itself is never looked at: it could be a code typed without /link, or anything else.
const plainTextHint = "I only understand commands. Send /help to see them, or /link followed by the code from the website to connect your subscription."

// personal commands act on or reveal the asker's subscription; outside private chats they are refused.
var personal = map[string]bool{"link": true, "unlink": true, "status": true, "pause": true, "resume": true}

// Handle answers one command; an empty Command stands for a private message that is not a command,
// answered with a hint. It never panics and never stays silent: failures become a Reply with Error set.
func (c *Commands) Handle(ctx context.Context, req Request) (rep Reply) {
	req.Command = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(req.Command), "/"))
	req.Args = strings.TrimSpace(req.Args)
	defer func() {
		if r := recover(); r != nil {
			// The stack, not the panic value: a value could quote the reader's input.
			c.log.Error("command panicked", "platform", req.Platform, "command", req.Command, "stack", string(debug.Stack()))
			rep = c.internalError()
		}
	}()
	if req.Private && req.UserID != "" {
		c.markReachable(ctx, req)
	}
	switch req.Command {
	case "":
		// Text that is not a command: the reader still gets an answer, and has talked to the bot.
		return Reply{Blocks: Text(plainTextHint)}
	case "start":
		return c.start(ctx, req)
	case "help":
		return Reply{Blocks: c.helpBlocks()}
	case "latest":
		return c.latest(ctx, req)
	case "search":
		return c.search(ctx, req)
	case "story":
		return c.story(ctx, req, req.Args)
	}
	if personal[req.Command] && !req.Private {
		if req.Command == "link" {
			return c.compromised(ctx, req.Args)
		}
		return Reply{Personal: true, Error: true, Blocks: Text("That command is about your own subscription, so please send it to me in a private chat.")}
	}
	switch req.Command {
	case "link":
		return c.link(ctx, req, req.Args)
	case "unlink":
		return c.unlink(ctx, req)
	case "status":
		return c.status(ctx, req)
	case "pause", "resume":
		return c.pause(ctx, req, req.Command == "pause")
	}
	name := req.Command
	if len(name) > 32 {
		name = name[:32]
	}
	return Reply{Error: true, Blocks: append(Text(fmt.Sprintf("I don't know the command /%s.", name)), c.helpBlocks()...)}
}

// markReachable clears an unreachable mark: a reader writing to the bot in private can be written to.
func (c *Commands) markReachable(ctx context.Context, req Request) {
	l, _, err := c.st.LinkFor(ctx, req.Platform, req.UserID)
	if err != nil || l.Reachable() {
		return
	}
	if err := c.st.MarkLinkReachable(ctx, req.Platform, req.UserID); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.Warn("marking a link reachable", "platform", req.Platform, "err", err)
	}
}

func (c *Commands) site() string {
	if c.opts.SiteName != "" {
		return c.opts.SiteName
	}
	return "the publisher"
}

// howToLink tells a reader where to get a code; the wording works on every platform.
func (c *Commands) howToLink() string {
	where := "on " + c.site() + "'s website"
	if c.opts.SubscribeURL != "" {
		where = "at " + c.opts.SubscribeURL
	}
	return "Subscribers get full articles here: log in " + where + ", ask for a link code and send it to me in a private chat with /link CODE."
}

func (c *Commands) subscribeHint() string {
	if c.opts.SubscribeURL != "" {
		return "Subscribe or renew at " + c.opts.SubscribeURL + "."
	}
	return "Subscribe or renew on " + c.site() + "'s website."
}

func (c *Commands) internalError() Reply {
	return Reply{Error: true, Blocks: Text("Something went wrong on our side. Please try again in a minute.")}
}

func (c *Commands) fail(req Request, err error) Reply {
	c.log.Error("command failed", "platform", req.Platform, "command", req.Command, "err", err)
	return c.internalError()
}

func (c *Commands) helpBlocks() store.Body {
	b := store.Body{{Kind: store.BlockParagraph, Spans: []store.Span{{Text: "Commands:", Bold: true}}}}
	for _, ci := range CommandList() {
		usage := "/" + ci.Name
		if ci.Args != "" {
			usage += " " + ci.Args
		}
		b = append(b, store.Block{Kind: store.BlockListItem, Spans: []store.Span{{Text: usage, Code: true}, {Text: " — " + ci.Description}}})
	}
	return append(b, Text(c.howToLink())...)
}

func (c *Commands) start(ctx context.Context, req Request) Reply {
	switch {
	case req.Args == "":
		return Reply{Blocks: Text(
			"Welcome! I post summaries of new stories from "+c.site()+" and answer /latest, /search and /story.",
			c.howToLink(),
			"Send /help for all commands.")}
	case strings.HasPrefix(req.Args, "story_"):
		return c.story(ctx, req, strings.TrimPrefix(req.Args, "story_"))
	case !req.Private:
		return c.compromised(ctx, req.Args)
	}
	return c.link(ctx, req, req.Args)
}

// compromised handles a link code sent where others can read it: the code is revoked, never redeemed.
// The reply is the same whether or not the code existed.
func (c *Commands) compromised(ctx context.Context, code string) Reply {
	if code != "" {
		if err := c.st.RevokeLinkCode(ctx, code); err != nil {
			c.log.Error("revoking a link code posted in a group", "err", err)
		}
	}
	return Reply{Personal: true, Error: true, Blocks: Text(
		"Link codes are secret, so I never use one sent in a group. If that was a code, it has been cancelled and nobody can use it now.",
		"Get a new code from "+c.site()+" and send it to me in a private chat with /link CODE.")}
}

func (c *Commands) link(ctx context.Context, req Request, code string) Reply {
	if code == "" {
		return Reply{Personal: true, Error: true, Blocks: Text("Send the code with the command: /link CODE (for example /link ABCDE-12345).", c.howToLink())}
	}
	l, moved, err := c.st.RedeemLinkCodeWithPolicy(ctx, c.opts.LinkPolicy, req.Platform, req.UserID, code)
	var locked *store.LockedOutError
	switch {
	case errors.As(err, &locked):
		wait := max(locked.Until.Sub(c.st.Now()), time.Minute).Round(time.Minute)
		return Reply{Personal: true, Error: true, Blocks: Text(fmt.Sprintf(
			"Too many attempts with codes that didn't work. Please try again after %s (in about %s).",
			locked.Until.UTC().Format("15:04 MST, 2 January"), humanDuration(wait)))}
	case errors.Is(err, store.ErrCodeInvalid):
		return Reply{Personal: true, Error: true, Blocks: Text(
			"That code didn't work. Codes can be used once and only for a short time.",
			"Get a new code from "+c.site()+" and send it with /link CODE.")}
	case err != nil:
		return c.fail(req, err)
	}
	sub, err := c.st.GetSubscriptionByID(ctx, l.SubscriptionID)
	if err != nil {
		return c.fail(req, err)
	}
	rep := Reply{Personal: true}
	msg := []string{"Linked! This account now uses your subscription to " + c.site() + planSuffix(sub) + "."}
	if sub.EntitledAt(c.st.Now()) {
		msg = append(msg, "New full articles will be sent to you here, and /story NUMBER gets any story in full.")
	} else {
		msg = append(msg, "Your subscription is not active right now, so I can't send full articles yet. "+c.subscribeHint())
	}
	if l.Paused {
		msg = append(msg, "New full articles are paused; send /resume to turn them on.")
	}
	rep.Blocks = Text(msg...)
	if moved != nil {
		rep.Notices = []Notice{{UserID: moved.UserID, Blocks: Text(
			"Your subscription to "+c.site()+" was just linked to another account, so full articles will no longer be sent here.",
			"If that wasn't you, get a new link code from "+c.site()+" and link this account again.")}}
	}
	c.log.Info("account linked", "platform", req.Platform, "subscription", sub.ID, "moved", moved != nil)
	return rep
}

func planSuffix(sub store.Subscription) string {
	if sub.Plan == "" {
		return ""
	}
	return " (" + sub.Plan + ")"
}

func (c *Commands) unlink(ctx context.Context, req Request) Reply {
	_, err := c.st.Unlink(ctx, req.Platform, req.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Reply{Personal: true, Blocks: Text("This account is not linked to a subscription, so there is nothing to unlink.")}
	case err != nil:
		return c.fail(req, err)
	}
	return Reply{Personal: true, Blocks: Text("Unlinked. I won't send full articles to this account any more.",
		"To link again, get a new code from "+c.site()+" and send /link CODE.")}
}

func (c *Commands) status(ctx context.Context, req Request) Reply {
	l, sub, err := c.st.LinkFor(ctx, req.Platform, req.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Reply{Personal: true, Blocks: Text("This account is not linked to a subscription.", c.howToLink())}
	case err != nil:
		return c.fail(req, err)
	}
	now := c.st.Now()
	lines := []string{"Linked to your subscription to " + c.site() + planSuffix(sub) + "."}
	if sub.EntitledAt(now) {
		lines = append(lines, "Full articles: yes, until "+sub.EntitledUntil().UTC().Format("2 January 2006 15:04 MST")+" (renewals extend this).")
	} else {
		lines = append(lines, "Full articles: no, the subscription is "+strings.ReplaceAll(sub.Status, "_", " ")+". "+c.subscribeHint())
	}
	if l.Paused {
		lines = append(lines, "New articles by private message: paused (send /resume to turn them on).")
	} else {
		lines = append(lines, "New articles by private message: on (send /pause to stop them).")
	}
	return Reply{Personal: true, Blocks: Text(lines...)}
}

func (c *Commands) pause(ctx context.Context, req Request, paused bool) Reply {
	_, err := c.st.SetPaused(ctx, req.Platform, req.UserID, paused)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Reply{Personal: true, Error: true, Blocks: Text("This account is not linked to a subscription, so no articles are sent to it.", c.howToLink())}
	case err != nil:
		return c.fail(req, err)
	}
	if paused {
		return Reply{Personal: true, Blocks: Text("Paused: I won't send new full articles until you send /resume. /story still works.")}
	}
	return Reply{Personal: true, Blocks: Text("Resumed: new full articles will be sent to you here.")}
}

func (c *Commands) latest(ctx context.Context, req Request) Reply {
	n := LatestDefault
	if req.Args != "" {
		v, err := strconv.Atoi(req.Args)
		if err != nil || v < 1 {
			return Reply{Error: true, Blocks: Text(fmt.Sprintf("/latest takes a number of stories from 1 to %d, for example /latest 3.", LatestMax))}
		}
		n = min(v, LatestMax)
	}
	stories, err := c.st.LatestStories(ctx, n)
	if err != nil {
		return c.fail(req, err)
	}
	if len(stories) == 0 {
		return Reply{Blocks: Text("There are no stories yet.")}
	}
	return Reply{Blocks: Text("Latest stories:"), Stories: cards(stories)}
}

func (c *Commands) search(ctx context.Context, req Request) Reply {
	q := req.Args
	if q == "" {
		return Reply{Error: true, Blocks: Text("Tell me what to look for, for example /search election results.")}
	}
	if len(q) > maxQuery {
		q = q[:maxQuery]
	}
	stories, err := c.st.SearchStories(ctx, q, SearchMax)
	if err != nil {
		return c.fail(req, err)
	}
	if len(stories) == 0 {
		return Reply{Blocks: Text("No stories match “" + quoteFor(q) + "”. Try other or fewer words.")}
	}
	return Reply{Blocks: Text("Stories matching “" + quoteFor(q) + "”, newest first:"), Stories: cards(stories)}
}

// quoteFor shortens reader input echoed back.
func quoteFor(q string) string {
	if r := []rune(q); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return q
}

func cards(stories []store.Story) []StoryCard {
	out := make([]StoryCard, len(stories))
	for i, s := range stories {
		out[i] = CardFromStory(s)
	}
	return out
}

// story answers `story ID`: the full article only when the asker's account is linked to a subscription
// entitled right now; otherwise the summary card and how to get full articles.
func (c *Commands) story(ctx context.Context, req Request, arg string) Reply {
	arg = strings.TrimPrefix(strings.TrimSpace(arg), "#")
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return Reply{Error: true, Blocks: Text("/story takes a story number, for example /story 42. /latest and /search show the numbers.")}
	}
	st, err := c.st.GetStory(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Reply{Error: true, Blocks: Text(fmt.Sprintf("There is no story %d. /latest and /search show the stories there are.", id))}
	}
	if err != nil {
		return c.fail(req, err)
	}
	card := CardFromStory(st)
	if !st.HasFullText() {
		return Reply{Stories: []StoryCard{card}, Blocks: Text("The full text of this story isn't available here; the link above leads to it.")}
	}
	_, sub, err := c.st.LinkFor(ctx, req.Platform, req.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Reply{Stories: []StoryCard{card}, Blocks: Text("The full article is for subscribers. "+c.subscribeHint(), c.howToLink())}
	case err != nil:
		return c.fail(req, err)
	}
	if !sub.EntitledAt(c.st.Now()) {
		return Reply{Personal: true, Stories: []StoryCard{card}, Blocks: Text(
			"Your subscription is " + strings.ReplaceAll(sub.Status, "_", " ") + " right now, so I can't send the full article. " + c.subscribeHint())}
	}
	rep := Reply{Personal: true, Article: ArticleMessages(st, req.Limits)}
	if !req.Private {
		rep.Blocks = Text("I've sent you the full article in a private message.")
	}
	return rep
}

func humanDuration(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case m <= 1:
		return "a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", m)
	case m < 120:
		return "an hour"
	}
	return fmt.Sprintf("%d hours", m/60)
}
