// Package discord is Herald's Discord adapter on bwmarrin/discordgo: a gateway session
// for slash commands and buttons, story embeds in channels, full articles by DM, and
// Discord's errors mapped to the classes the dispatcher understands.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/heraldnews/herald/bots"
)

// DefaultAPIURL is Discord's REST base; discordgo builds every request on it.
const DefaultAPIURL = "https://discord.com/api/v9/"

// Default rates, below Discord's documented limits so that the dispatcher, not a 429, paces sends:
// 50 requests/s per bot, and about 5 messages per 5 s in one channel.
const (
	DefaultGlobalRate      = 45
	DefaultGlobalBurst     = 45
	DefaultPerChatRate     = 1
	DefaultPerChatBurst    = 5
	DefaultPerChannelRate  = 1
	DefaultPerChannelBurst = 5
)

// Config configures the Discord adapter; only Token is required.
type Config struct {
	// Token is the bot token, with or without the "Bot " prefix. It never appears in logs or errors.
	Token string
	// APIURL is the REST base (default DefaultAPIURL); a REST proxy shared by several bots goes here.
	// Gateway discovery goes through it too, so the gateway URL is the one the proxy returns.
	APIURL string
	// ApplicationID is the application's id; learned from GET /oauth2/applications/@me when empty.
	ApplicationID string
	// GuildID registers the slash commands in one server (instant) instead of globally (up to an hour).
	GuildID string
	// Logger receives the adapter's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Autocomplete suggests stories for "/story id" from what the reader typed so far; without it
	// the option takes a typed id only.
	Autocomplete func(ctx context.Context, prefix string) []Choice
	// Rates for the dispatcher's limiters (messages per second and bursts); zero means the default.
	GlobalRate      float64
	GlobalBurst     int
	PerChatRate     float64
	PerChatBurst    int
	PerChannelRate  float64
	PerChannelBurst int
	// Transport carries the REST and gateway-discovery requests (default http.DefaultTransport).
	Transport http.RoundTripper
}

// Choice is one autocomplete suggestion: Name is shown to the reader, Value (a story id) is submitted.
type Choice struct {
	Name  string
	Value string
}

// Bot is the Discord platform; it implements bots.Platform.
type Bot struct {
	cfg    Config
	log    *slog.Logger
	s      *discordgo.Session
	token  string
	appID  string
	userID string

	mu       sync.Mutex
	dms      map[string]string // user id → DM channel id, so a DM channel is opened once
	channels map[string]string // lowercase channel name → id, for channels configured by name
}

var _ bots.Platform = (*Bot)(nil)

// New checks the token against GET /users/@me, learns the application id when not configured
// and returns a Bot ready to Post and Send; Run opens the gateway.
func New(ctx context.Context, cfg Config) (*Bot, error) {
	token := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cfg.Token), "Bot "))
	if token == "" {
		return nil, errors.New("discord: the bot token is empty")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	base, err := url.Parse(cfg.APIURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("discord: api url %q is not an absolute http(s) URL", cfg.APIURL)
	}
	if base.Path == "" || base.Path == "/" {
		// A bare host (a REST proxy that mirrors Discord's paths) gets Discord's versioned path.
		base.Path = defaultAPIPath
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	next := cfg.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	defaults(&cfg)

	s, err := discordgo.New("Bot " + token)
	if err != nil {
		return nil, errors.New("discord: creating the session failed")
	}
	s.Client = &http.Client{Timeout: 20 * time.Second, Transport: &transport{base: base, next: next}}
	// The dispatcher's limiter decides when to retry; discordgo sleeping inside a send would hide 429s from it.
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	// Interactions arrive whatever the intents; Guilds is the minimum a bot session asks for.
	s.Identify.Intents = discordgo.IntentsGuilds
	s.StateEnabled = false

	b := &Bot{cfg: cfg, log: cfg.Logger.With("platform", "discord"), s: s, token: token, dms: map[string]string{}, channels: map[string]string{}}
	me, err := s.User("@me", discordgo.WithContext(ctx))
	if err != nil {
		var re *discordgo.RESTError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
			return nil, errors.New("discord: the bot token was rejected (HTTP 401 on GET /users/@me); check the configured token")
		}
		return nil, fmt.Errorf("discord: checking the bot token at %s: %s", base.Redacted(), b.describe(err))
	}
	b.userID = me.ID
	b.appID = cfg.ApplicationID
	if b.appID == "" {
		app, err := s.Application("@me")
		switch {
		case err == nil && app.ID != "":
			b.appID = app.ID
		default:
			// For bots made since 2019 the bot user's id is the application's id.
			b.appID = me.ID
			b.log.Warn("discord: could not read the application id; using the bot user id", "err", b.describe(err))
		}
	}
	b.log.Info("discord: token accepted", "bot", me.Username, "bot_id", me.ID, "application_id", b.appID)
	return b, nil
}

func defaults(c *Config) {
	if c.GlobalRate <= 0 {
		c.GlobalRate = DefaultGlobalRate
	}
	if c.GlobalBurst <= 0 {
		c.GlobalBurst = DefaultGlobalBurst
	}
	if c.PerChatRate <= 0 {
		c.PerChatRate = DefaultPerChatRate
	}
	if c.PerChatBurst <= 0 {
		c.PerChatBurst = DefaultPerChatBurst
	}
	if c.PerChannelRate <= 0 {
		c.PerChannelRate = DefaultPerChannelRate
	}
	if c.PerChannelBurst <= 0 {
		c.PerChannelBurst = DefaultPerChannelBurst
	}
}

// Name returns "discord".
func (b *Bot) Name() string { return "discord" }

// ApplicationID returns the application id the commands are registered under.
func (b *Bot) ApplicationID() string { return b.appID }

// Limits returns Discord's 2000-character content limit, the renderer's measure and the configured rates.
func (b *Bot) Limits() bots.Limits {
	return bots.Limits{
		MaxText: MaxContent, Measure: Measure,
		GlobalRate: b.cfg.GlobalRate, GlobalBurst: b.cfg.GlobalBurst,
		PerChatRate: b.cfg.PerChatRate, PerChatBurst: b.cfg.PerChatBurst,
		PerChannelRate: b.cfg.PerChannelRate, PerChannelBurst: b.cfg.PerChannelBurst,
	}
}

// noMentions is set on every message: an article quoting "@everyone" or "<@id>" pings nobody.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// Post sends a story's embed with its buttons to a channel, given by id or, when GuildID is
// configured, by name ("news" or "#news"). Errors: *bots.RetryAfter, bots.ErrUnreachable
// (unknown channel, missing access or permissions; also logged as an error), bots.ErrRejected.
func (b *Bot) Post(ctx context.Context, channel string, card bots.StoryCard) (bots.Ref, error) {
	id, err := b.channelID(ctx, channel)
	if err != nil {
		b.log.Error("discord: cannot post to channel", "channel", channel, "story", card.StoryID, "err", err)
		return bots.Ref{}, err
	}
	channel = id
	ref := bots.Ref{ChatID: channel}
	note := &rateNote{}
	m, err := b.s.ChannelMessageSendComplex(channel, PostMessage(card), discordgo.WithContext(withRateNote(ctx, note)))
	if err != nil {
		err = b.classify("post to channel "+channel, err, note)
		if errors.Is(err, bots.ErrUnreachable) {
			b.log.Error("discord: cannot post to channel; check the channel id and the bot's permissions there",
				"channel", channel, "story", card.StoryID, "err", err)
		}
		return ref, err
	}
	ref.MessageIDs = []string{m.ID}
	return ref, nil
}

// channelID resolves a configured channel: a snowflake is used as is; a name is looked up
// among the configured guild's text channels, once, then cached.
func (b *Bot) channelID(ctx context.Context, channel string) (string, error) {
	channel = strings.TrimSpace(channel)
	if isSnowflake(channel) {
		return channel, nil
	}
	name := strings.ToLower(strings.TrimPrefix(channel, "#"))
	if name == "" || b.cfg.GuildID == "" {
		return "", fmt.Errorf("discord: channel %q is not an id, and without a guild id it cannot be looked up by name: %w", channel, bots.ErrUnreachable)
	}
	b.mu.Lock()
	id, ok := b.channels[name]
	b.mu.Unlock()
	if ok {
		return id, nil
	}
	note := &rateNote{}
	chans, err := b.s.GuildChannels(b.cfg.GuildID, discordgo.WithContext(withRateNote(ctx, note)))
	if err != nil {
		return "", b.classify("list channels of guild "+b.cfg.GuildID, err, note)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range chans {
		if c.Type == discordgo.ChannelTypeGuildText || c.Type == discordgo.ChannelTypeGuildNews {
			b.channels[strings.ToLower(c.Name)] = c.ID
		}
	}
	if id, ok := b.channels[name]; ok {
		return id, nil
	}
	return "", fmt.Errorf("discord: no text channel named %q in guild %s: %w", name, b.cfg.GuildID, bots.ErrUnreachable)
}

func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// PostMessage builds the channel message for a story: one embed, and buttons for the full
// article (when there is one) and the story's page.
func PostMessage(c bots.StoryCard) *discordgo.MessageSend {
	msg := &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{StoryEmbed(c)}, AllowedMentions: noMentions()}
	if row := storyButtons(c, "Send me the full article", true); row != nil {
		msg.Components = []discordgo.MessageComponent{*row}
	}
	return msg
}

// StoryEmbed renders a story card as an embed within Discord's field limits.
func StoryEmbed(c bots.StoryCard) *discordgo.MessageEmbed { return storyEmbed(c, 4096) }

// Discord's limit on the text of all embeds in one message, and the summary length used when
// several stories share a message (latest, search).
const (
	maxEmbedsText  = 6000
	listSummaryLen = 500
)

func storyEmbed(c bots.StoryCard, maxDesc int) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{
		Type:        discordgo.EmbedTypeRich,
		Title:       escapeWithin(c.Title, 256),
		Description: escapeWithin(c.Summary, maxDesc),
	}
	if isHTTP(c.URL) {
		e.URL = c.URL
	}
	if c.Byline != "" {
		e.Author = &discordgo.MessageEmbedAuthor{Name: truncate(c.Byline, 256)}
	}
	if !c.PublishedAt.IsZero() {
		e.Timestamp = c.PublishedAt.UTC().Format(time.RFC3339)
	}
	if isHTTP(c.ImageURL) {
		e.Image = &discordgo.MessageEmbedImage{URL: c.ImageURL}
	}
	footer := c.SiteName
	if c.Summarizer != "" {
		if footer != "" {
			footer += " · "
		}
		footer += "automated summary"
	}
	if footer != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: truncate(footer, 256)}
	}
	return e
}

// embedText counts the characters Discord adds up against maxEmbedsText.
func embedText(e *discordgo.MessageEmbed) int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	if e.Author != nil {
		n += utf8.RuneCountInString(e.Author.Name)
	}
	if e.Footer != nil {
		n += utf8.RuneCountInString(e.Footer.Text)
	}
	return n
}

// storyButtons returns the action row for a story, or nil when it would be empty.
func storyButtons(c bots.StoryCard, fullLabel string, site bool) *discordgo.ActionsRow {
	var comps []discordgo.MessageComponent
	if c.HasFullText && c.StoryID > 0 {
		comps = append(comps, discordgo.Button{Label: truncate(fullLabel, 80), Style: discordgo.PrimaryButton, CustomID: storyButtonID(c.StoryID)})
	}
	if site && isHTTP(c.URL) && len(c.URL) <= 512 {
		comps = append(comps, discordgo.Button{Label: "Open on site", Style: discordgo.LinkButton, URL: c.URL})
	}
	if len(comps) == 0 {
		return nil
	}
	return &discordgo.ActionsRow{Components: comps}
}

func storyButtonID(id int64) string { return fmt.Sprintf("story:%d", id) }

func isHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Send delivers messages to a reader's DMs in order, opening the DM channel once (to.DMChat
// when known, else created and returned in Ref.ChatID). On error Ref holds the parts Discord
// acknowledged. Errors: *bots.RetryAfter, bots.ErrUnreachable (DMs closed: 50007), bots.ErrRejected.
func (b *Bot) Send(ctx context.Context, to bots.Recipient, msgs []bots.Message) (bots.Ref, error) {
	chat := to.DMChat
	if chat == "" {
		var err error
		if chat, err = b.dmChannel(ctx, to.UserID); err != nil {
			return bots.Ref{}, err
		}
	}
	ref := bots.Ref{ChatID: chat}
	for _, m := range msgs {
		for _, content := range b.contents(m) {
			send := &discordgo.MessageSend{Content: content, AllowedMentions: noMentions()}
			if m.NoPreview {
				send.Flags = discordgo.MessageFlagsSuppressEmbeds
			}
			note := &rateNote{}
			sent, err := b.s.ChannelMessageSendComplex(chat, send, discordgo.WithContext(withRateNote(ctx, note)))
			if err != nil {
				return ref, b.classify("send to user "+to.UserID, err, note)
			}
			ref.MessageIDs = append(ref.MessageIDs, sent.ID)
		}
	}
	return ref, nil
}

// dmChannel returns the DM channel with a user, creating it once per process.
func (b *Bot) dmChannel(ctx context.Context, userID string) (string, error) {
	b.mu.Lock()
	id, ok := b.dms[userID]
	b.mu.Unlock()
	if ok {
		return id, nil
	}
	note := &rateNote{}
	ch, err := b.s.UserChannelCreate(userID, discordgo.WithContext(withRateNote(ctx, note)))
	if err != nil {
		return "", b.classify("open DM with user "+userID, err, note)
	}
	b.mu.Lock()
	b.dms[userID] = ch.ID
	b.mu.Unlock()
	return ch.ID, nil
}

// contents renders a message; the splitter keeps it within 2000 characters, and a message
// that still is not (a single enormous word) is cut at line or word boundaries rather than refused.
func (b *Bot) contents(m bots.Message) []string {
	s := Render(m)
	if utf8.RuneCountInString(s) <= MaxContent {
		return []string{s}
	}
	b.log.Warn("discord: message over 2000 characters after splitting; cutting it", "chars", utf8.RuneCountInString(s))
	return hardSplit(s, MaxContent)
}

// hardSplit cuts s into pieces of at most n characters, preferring paragraph, line and word breaks.
func hardSplit(s string, n int) []string {
	var out []string
	for utf8.RuneCountInString(s) > n {
		r := []rune(s)
		head := string(r[:n])
		cut := len(head)
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(head, sep); i > len(head)/2 {
				cut = i
				break
			}
		}
		// Never leave an escape backslash at the end of a piece.
		for cut > 1 && head[cut-1] == '\\' {
			cut--
		}
		out = append(out, strings.TrimRight(s[:cut], " \n"))
		s = strings.TrimLeft(s[cut:], " \n")
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}
