// Package telegram is Herald's Telegram adapter on github.com/go-telegram/bot: long polling
// (or a webhook), command routing to the platform-neutral core, Telegram HTML rendering and
// escaping, inline buttons with deep links, and error mapping for the dispatcher.
package telegram

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/heraldnews/herald/bots"
)

// Defaults for Config fields left zero.
const (
	DefaultAPIURL      = "https://api.telegram.org"
	DefaultPollTimeout = 30 * time.Second
	// Telegram's documented bulk limits: ~30 messages/s overall, 1/s per private chat
	// (short bursts tolerated), 20/min per group or channel.
	DefaultGlobalRate      = 30
	DefaultGlobalBurst     = 30
	DefaultPerChatRate     = 1
	DefaultPerChatBurst    = 3
	DefaultPerChannelRate  = 20.0 / 60
	DefaultPerChannelBurst = 3
	DefaultWorkers         = 4
)

// MaxText is Telegram's limit for a message text, in UTF-16 units after entity parsing.
const MaxText = 4096

// MaxCaption is Telegram's limit for a photo caption, in the same units.
const MaxCaption = 1024

// Config configures a Bot; only Token is required.
type Config struct {
	// Token is the bot token from @BotFather; it never appears in logs or errors.
	Token string
	// APIURL is the Bot API server (DefaultAPIURL, or a self-hosted server).
	APIURL string
	// BotUsername is the bot's @username without "@"; getMe's answer wins when they differ.
	BotUsername string
	// PollTimeout is the long-polling timeout (DefaultPollTimeout); the HTTP client waits longer.
	PollTimeout time.Duration
	// WebhookURL switches to webhook mode: Run registers it with setWebhook and updates
	// arrive through WebhookHandler, mounted at that URL by the operator HTTP server.
	WebhookURL string
	// WebhookSecret is the secret_token Telegram sends back with every update (1-256 of
	// A-Za-z0-9_-); when empty in webhook mode a random one is generated at start.
	WebhookSecret string
	// Logger receives the adapter's logs (slog.Default() when nil).
	Logger *slog.Logger
	// HTTPClient replaces the default client; its Timeout is raised above PollTimeout when shorter.
	HTTPClient *http.Client
	// Rates in messages per second, and bursts; zero means the Default… constants.
	GlobalRate      float64
	GlobalBurst     int
	PerChatRate     float64
	PerChatBurst    int
	PerChannelRate  float64
	PerChannelBurst int
	// Workers is how many updates are handled at once (DefaultWorkers).
	Workers int
}

// Bot is a Telegram platform adapter; create it with New.
type Bot struct {
	api      *tg.Bot
	token    string
	username string
	cfg      Config
	log      *slog.Logger
	limits   bots.Limits

	mu       sync.Mutex
	started  bool
	handler  bots.Handler // non-nil while Run accepts webhook updates
	runCtx   context.Context
	inflight sync.WaitGroup
}

var _ bots.Platform = (*Bot)(nil)

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// New connects to the Bot API: it checks the token with getMe (learning the bot's username
// for deep links) and registers the command menu with setMyCommands. A rejected token is
// reported as such, without the token.
func New(ctx context.Context, cfg Config) (*Bot, error) {
	cfg.Token = strings.TrimSpace(cfg.Token)
	if cfg.Token == "" {
		return nil, errors.New("telegram: no bot token configured")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = DefaultPollTimeout
	}
	if cfg.PollTimeout < time.Second {
		cfg.PollTimeout = time.Second
	}
	if cfg.WebhookURL != "" {
		if cfg.WebhookSecret == "" {
			var buf [32]byte
			if _, err := rand.Read(buf[:]); err != nil {
				return nil, fmt.Errorf("telegram: webhook secret: %w", err)
			}
			cfg.WebhookSecret = hex.EncodeToString(buf[:])
		} else if !secretRE.MatchString(cfg.WebhookSecret) {
			return nil, errors.New("telegram: webhook secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
		}
	}
	setDefault(&cfg.Workers, DefaultWorkers)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	b := &Bot{token: cfg.Token, cfg: cfg, log: logger.With("platform", "telegram")}
	b.limits = PreviewLimits(cfg) // applies the rate defaults

	// The client must outlive a long poll, or every idle poll ends in a timeout error.
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	if least := cfg.PollTimeout + 15*time.Second; client.Timeout < least {
		client.Timeout = least
	}
	api, err := tg.New(cfg.Token,
		tg.WithServerURL(cfg.APIURL),
		// The library asks getUpdates for (pollTimeout - 1s).
		tg.WithHTTPClient(cfg.PollTimeout+time.Second, client),
		tg.WithSkipGetMe(),
		tg.WithDefaultHandler(b.onUpdate),
		tg.WithErrorsHandler(func(err error) { b.log.Warn("telegram: bot api", "err", b.redact(err.Error())) }),
		tg.WithAllowedUpdates(tg.AllowedUpdates{"message"}),
		tg.WithWorkers(cfg.Workers),
		tg.WithNotAsyncHandlers(),
		// Unbuffered: an update is taken from Telegram's queue only when a worker is free,
		// so updates not yet handled at shutdown are redelivered after restart.
		tg.WithUpdatesChannelCap(0),
	)
	if err != nil {
		return nil, fmt.Errorf("telegram: %s", b.redact(err.Error()))
	}
	b.api = api

	me, err := api.GetMe(ctx)
	if err != nil {
		if errors.Is(err, tg.ErrorUnauthorized) || errors.Is(err, tg.ErrorNotFound) {
			return nil, fmt.Errorf("telegram: the Bot API at %s rejected the bot token (getMe: %s); check HERALD_TELEGRAM_TOKEN", cfg.APIURL, b.redact(err.Error()))
		}
		return nil, fmt.Errorf("telegram: getMe: %w", b.mapError(err))
	}
	b.username = me.Username
	if cfg.BotUsername != "" && !strings.EqualFold(strings.TrimPrefix(cfg.BotUsername, "@"), me.Username) {
		b.log.Warn("telegram: configured bot username differs from getMe; using getMe's", "configured", cfg.BotUsername, "username", me.Username)
	}
	if b.username == "" {
		b.username = strings.TrimPrefix(cfg.BotUsername, "@")
	}
	// The menu is a convenience: commands work without it, so a failure must not keep the bot from delivering.
	if _, err := api.SetMyCommands(ctx, &tg.SetMyCommandsParams{Commands: menu}); err != nil {
		b.log.Warn("telegram: setMyCommands failed; the command menu may be out of date", "err", b.mapError(err))
	}
	b.log.Info("telegram: connected", "username", b.username, "webhook", cfg.WebhookURL != "")
	return b, nil
}

// LookupUsername asks the Bot API at cfg.APIURL (getMe) for the bot's username, for tools that
// need deep links without running the bot (herald link-code). Only Token, APIURL and HTTPClient
// are used; errors never contain the token.
func LookupUsername(ctx context.Context, cfg Config) (string, error) {
	b := &Bot{token: strings.TrimSpace(cfg.Token)}
	if b.token == "" {
		return "", errors.New("telegram: no bot token configured")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	api, err := tg.New(b.token, tg.WithServerURL(strings.TrimRight(cfg.APIURL, "/")), tg.WithHTTPClient(time.Second, client), tg.WithSkipGetMe())
	if err != nil {
		return "", fmt.Errorf("telegram: %s", b.redact(err.Error()))
	}
	me, err := api.GetMe(ctx)
	if err != nil {
		return "", fmt.Errorf("telegram: getMe: %s", b.redact(err.Error()))
	}
	if me.Username == "" {
		return "", errors.New("telegram: getMe returned no username")
	}
	return me.Username, nil
}

func setDefault[T int | float64](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// menu is the command list shown in Telegram's menu.
var menu = []models.BotCommand{
	{Command: "link", Description: "Link your subscription with a code from the website"},
	{Command: "unlink", Description: "Unlink your subscription from this account"},
	{Command: "status", Description: "Show your subscription and delivery status"},
	{Command: "latest", Description: "List the latest stories"},
	{Command: "search", Description: "Search stories"},
	{Command: "story", Description: "Get a story by its number"},
	{Command: "pause", Description: "Pause full-article messages"},
	{Command: "resume", Description: "Resume full-article messages"},
	{Command: "help", Description: "How this bot works"},
}

// Name is "telegram".
func (b *Bot) Name() string { return "telegram" }

// Username is the bot's @username without "@", as getMe reported it.
func (b *Bot) Username() string { return b.username }

// Limits reports Telegram's message size (UTF-16 units after entity parsing) and the configured rates.
func (b *Bot) Limits() bots.Limits { return b.limits }

// DeepLink is the t.me link that opens the bot with /start payload.
func (b *Bot) DeepLink(payload string) string {
	return "https://t.me/" + b.username + "?start=" + payload
}

var tokenInURL = regexp.MustCompile(`bot[0-9]+:[A-Za-z0-9_-]+`)

// redact removes the token from library error text, which embeds request URLs.
func (b *Bot) redact(s string) string {
	if b.token != "" {
		s = strings.ReplaceAll(s, b.token, "<redacted>")
	}
	return tokenInURL.ReplaceAllString(s, "bot<redacted>")
}

// mapError classifies a library error for the dispatcher. The result never wraps the
// library error itself, whose text may hold the token; its redacted text is kept.
func (b *Bot) mapError(err error) error {
	if err == nil {
		return nil
	}
	msg := b.redact(err.Error())
	var flood *tg.TooManyRequestsError
	if errors.As(err, &flood) {
		return &bots.RetryAfter{After: time.Duration(flood.RetryAfter) * time.Second, Global: true, Reason: msg}
	}
	var migrated *tg.MigrateError
	if errors.As(err, &migrated) {
		return &bots.ChatMigrated{NewChatID: fmt.Sprint(migrated.MigrateToChatID)}
	}
	lower := strings.ToLower(msg)
	switch {
	case errors.Is(err, tg.ErrorForbidden):
		// Blocked, deactivated, kicked, not a member, can't initiate a conversation: all mean
		// this chat can't be written to until the reader or an admin acts.
		return fmt.Errorf("telegram: %s: %w", msg, bots.ErrUnreachable)
	case errors.Is(err, tg.ErrorBadRequest):
		for _, s := range unreachable400 {
			if strings.Contains(lower, s) {
				return fmt.Errorf("telegram: %s: %w", msg, bots.ErrUnreachable)
			}
		}
		return fmt.Errorf("telegram: %s: %w", msg, bots.ErrRejected)
	case errors.Is(err, tg.ErrorUnauthorized), errors.Is(err, tg.ErrorNotFound):
		// The token was revoked: nothing can be sent; slow the whole bot down rather than drop messages.
		return &bots.RetryAfter{After: time.Minute, Global: true, Reason: "bot token rejected: " + msg}
	}
	// 5xx, 409, network errors, timeouts, undecodable answers from a proxy.
	return &bots.RetryAfter{Reason: msg}
}

// unreachable400 are Bad Request descriptions about the recipient, not about our message.
var unreachable400 = []string{
	"chat not found", "user not found", "peer_id_invalid", "have no rights to send",
	"not enough rights", "need administrator rights", "chat_write_forbidden", "group chat was deactivated",
}
