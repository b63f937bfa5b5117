package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/store"
)

// replyTimeout bounds sending a command's answer, which continues during shutdown so a
// reader whose command took effect (a link, a pause) still hears about it.
const replyTimeout = 20 * time.Second

// Run receives updates until ctx ends and hands reader commands to h: by long polling, or,
// with Config.WebhookURL, by registering the webhook and serving WebhookHandler. It returns
// nil when ctx ends and an error only when the webhook could not be registered.
func (b *Bot) Run(ctx context.Context, h bots.Handler) error {
	b.mu.Lock()
	if b.started {
		b.mu.Unlock()
		return errors.New("telegram: Run is already running")
	}
	b.started, b.handler, b.runCtx = true, h, ctx
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		// A Run that ended (a webhook that could not be registered) may be started again.
		b.handler, b.started = nil, false
		b.mu.Unlock()
		// Webhook requests admitted before the handler was cleared finish before Run returns.
		b.inflight.Wait()
	}()

	if b.cfg.WebhookURL == "" {
		// A webhook left by an earlier deployment would make every getUpdates fail with 409.
		if _, err := b.api.DeleteWebhook(ctx, &tg.DeleteWebhookParams{}); err != nil && ctx.Err() == nil {
			b.log.Warn("telegram: deleteWebhook before polling", "err", b.mapError(err))
		}
		b.log.Info("telegram: long polling", "timeout", b.cfg.PollTimeout)
		b.api.Start(ctx)
		return nil
	}

	params := &tg.SetWebhookParams{URL: b.cfg.WebhookURL, SecretToken: b.cfg.WebhookSecret, AllowedUpdates: []string{"message"}}
	var err error
	for attempt, wait := 1, time.Second; ; attempt, wait = attempt+1, wait*2 {
		if _, err = b.api.SetWebhook(ctx, params); err == nil {
			break
		}
		err = b.mapError(err)
		var retry *bots.RetryAfter
		if !errors.As(err, &retry) || attempt == 5 {
			return fmt.Errorf("telegram: setWebhook: %w", err)
		}
		b.log.Warn("telegram: setWebhook failed, retrying", "err", err, "attempt", attempt)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(max(wait, retry.After)):
		}
	}
	b.log.Info("telegram: webhook registered")
	<-ctx.Done()
	return nil
}

// WebhookHandler serves Telegram's webhook calls in webhook mode. Requests without the
// configured secret token get 403 and are ignored; updates arriving while Run is not
// running get 503, so Telegram delivers them again later.
func (b *Bot) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.cfg.WebhookURL == "" || b.cfg.WebhookSecret == "" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if subtle.ConstantTimeCompare([]byte(got), []byte(b.cfg.WebhookSecret)) != 1 {
			b.log.Warn("telegram: webhook call with a wrong secret token", "remote", r.RemoteAddr)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var upd models.Update
		if err := json.Unmarshal(body, &upd); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		h, ctx := b.handler, b.runCtx
		if h == nil {
			b.mu.Unlock()
			http.Error(w, "not running", http.StatusServiceUnavailable)
			return
		}
		b.inflight.Add(1)
		b.mu.Unlock()
		defer b.inflight.Done()
		// Handled before answering: Telegram bounds concurrency by max_connections, and an
		// update is only acknowledged once handled.
		b.handleUpdate(ctx, h, &upd)
		w.WriteHeader(http.StatusOK)
	})
}

// onUpdate is the library's handler in polling mode.
func (b *Bot) onUpdate(ctx context.Context, _ *tg.Bot, upd *models.Update) {
	b.mu.Lock()
	h := b.handler
	b.mu.Unlock()
	if h != nil {
		b.handleUpdate(ctx, h, upd)
	}
}

// handleUpdate routes a message: commands to h, other private text to h as an empty command
// (answered with a hint); group chatter, channel posts and other update kinds are ignored.
func (b *Bot) handleUpdate(ctx context.Context, h bots.Handler, upd *models.Update) {
	msg := upd.Message
	if msg == nil || msg.From == nil || msg.From.IsBot {
		return
	}
	private := msg.Chat.Type == models.ChatTypePrivate
	cmd, args, isCmd := b.parseCommand(msg)
	switch {
	case !isCmd && !private:
		return // group chatter
	case !isCmd:
		// Other private text is handed on as an empty command, without the text: the reader gets
		// a hint, and a reader who had blocked the bot is reachable again.
		cmd, args = "", ""
	case cmd == "":
		return // addressed to another bot
	case !private && !knownCommand(cmd) && !strings.Contains(strings.Fields(msg.Text)[0], "@"):
		return // most likely another bot's command in a shared group: not ours to call unknown
	}
	req := bots.Request{
		Platform: b.Name(),
		UserID:   strconv.FormatInt(msg.From.ID, 10),
		ChatID:   strconv.FormatInt(msg.Chat.ID, 10),
		Private:  private,
		Command:  cmd,
		Args:     args,
		Limits:   b.Limits(),
	}
	b.log.Debug("telegram: command", "command", cmd, "private", private)
	b.reply(ctx, msg, h.Handle(ctx, req))
}

// knownCommand reports whether name is one of the reader commands (or /start).
func knownCommand(name string) bool {
	if name == "start" {
		return true
	}
	for _, c := range bots.CommandList() {
		if c.Name == name {
			return true
		}
	}
	return false
}

// parseCommand reads a leading bot_command entity. cmd is "" for a command addressed to
// another bot (/cmd@OtherBot); isCmd is false for messages that are not commands.
func (b *Bot) parseCommand(msg *models.Message) (cmd, args string, isCmd bool) {
	var ent *models.MessageEntity
	for i := range msg.Entities {
		if e := &msg.Entities[i]; e.Type == models.MessageEntityTypeBotCommand && e.Offset == 0 {
			ent = e
			break
		}
	}
	if ent == nil {
		return "", "", false
	}
	// Entity offsets and lengths are in UTF-16 units.
	units := utf16.Encode([]rune(msg.Text))
	if ent.Length <= 1 || ent.Length > len(units) {
		return "", "", false
	}
	word := string(utf16.Decode(units[:ent.Length]))
	args = strings.TrimSpace(string(utf16.Decode(units[ent.Length:])))
	word = strings.TrimPrefix(word, "/")
	name, target, addressed := strings.Cut(word, "@")
	if addressed && !strings.EqualFold(target, b.username) {
		return "", "", true
	}
	return strings.ToLower(name), args, true
}

// reply renders a Reply: text and story lists into the chat the command came from, the
// article into the asker's private chat, notices to their readers. Failures are logged:
// the command has been handled and must not run twice.
func (b *Bot) reply(ctx context.Context, msg *models.Message, rep bots.Reply) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replyTimeout)
	defer cancel()
	if len(rep.Article) > 0 && msg.Chat.Type != models.ChatTypePrivate {
		// Asked in a group: deliver first, so the group hears whether it worked. A reader who never
		// opened a private chat with the bot cannot be written to until they do.
		if _, err := b.Send(ctx, bots.Recipient{UserID: strconv.FormatInt(msg.From.ID, 10)}, rep.Article); err != nil {
			b.log.Warn("telegram: sending an article to the asker", "err", err)
			if errors.Is(err, bots.ErrUnreachable) {
				rep.Blocks = bots.Text("I can't send you private messages yet. Open a private chat with @" + b.username + ", press Start, and ask me there.")
			} else {
				rep.Blocks = bots.Text("I couldn't send you the article just now. Please try again in a minute.")
			}
		}
		rep.Article = nil
	}
	var body store.Body
	body = append(append(body, rep.Blocks...), storyListBlocks(rep.Stories)...)
	if len(body) > 0 {
		var replyTo *models.ReplyParameters
		if msg.Chat.Type != models.ChatTypePrivate {
			replyTo = &models.ReplyParameters{MessageID: msg.ID, AllowSendingWithoutReply: true}
		}
		for _, m := range bots.Split(body, b.limits) {
			r := renderMessage(m)
			if r.Len() == 0 {
				continue
			}
			if _, err := b.sendHTML(ctx, msg.Chat.ID, r, true, replyTo, nil); err != nil {
				b.log.Warn("telegram: sending a command reply", "err", err)
				break
			}
		}
	}
	if len(rep.Article) > 0 {
		if _, err := b.Send(ctx, bots.Recipient{UserID: strconv.FormatInt(msg.From.ID, 10)}, rep.Article); err != nil {
			b.log.Warn("telegram: sending an article to the asker", "err", err)
		}
	}
	for _, n := range rep.Notices {
		if _, err := b.Send(ctx, bots.Recipient{UserID: n.UserID}, bots.Split(n.Blocks, b.limits)); err != nil {
			b.log.Warn("telegram: sending a notice", "err", err)
		}
	}
}
