package telegram

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/heraldnews/herald/bots"
)

// Post publishes a story card to a channel, group or supergroup ("@name" or a numeric id):
// a photo with the card as caption when the story has an image and the caption fits
// MaxCaption, otherwise (or when Telegram refuses the photo) a text message. A migrated
// group is reported as *bots.ChatMigrated.
func (b *Bot) Post(ctx context.Context, channel string, card bots.StoryCard) (bots.Ref, error) {
	chat, err := chatRef(channel)
	if err != nil {
		return bots.Ref{}, err
	}
	kb := b.keyboard(card)
	if img, ok := safeURL(card.ImageURL); ok && strings.HasPrefix(img, "http") {
		if caption := renderCard(card, card.Summary); caption.Len() <= MaxCaption {
			msg, err := b.api.SendPhoto(ctx, &tg.SendPhotoParams{
				ChatID: chat, Photo: &models.InputFileString{Data: img},
				Caption: caption.HTML(), ParseMode: models.ParseModeHTML, ReplyMarkup: kb,
			})
			if err == nil {
				return postRef(channel, msg), nil
			}
			mapped := b.mapError(err)
			// Only a refused photo (bad URL, wrong content type, too big) falls back;
			// a blocked bot or flood control applies to the text message too.
			if !errors.Is(mapped, bots.ErrRejected) {
				return bots.Ref{}, mapped
			}
			b.log.Warn("telegram: photo refused, posting text instead", "story", card.StoryID, "err", mapped)
		}
	}
	text, ok := fitCard(card, MaxText)
	if !ok {
		return bots.Ref{}, fmt.Errorf("telegram: story %d: card longer than %d even without summary: %w", card.StoryID, MaxText, bots.ErrRejected)
	}
	msg, err := b.sendHTML(ctx, chat, text, false, nil, kb)
	if err != nil {
		return bots.Ref{}, err
	}
	return postRef(channel, msg), nil
}

// keyboard is the card's inline keyboard: the deep link into the bot for the full article
// (only when there is one) and the story on the site. Nil (untyped) when empty, since a
// typed nil would be sent as "null".
func (b *Bot) keyboard(card bots.StoryCard) models.ReplyMarkup {
	var rows [][]urlButton
	if card.HasFullText && card.StoryID > 0 && b.username != "" {
		rows = append(rows, []urlButton{{Text: "Read the full article", URL: b.DeepLink("story_" + strconv.FormatInt(card.StoryID, 10))}})
	}
	if u, ok := safeURL(card.URL); ok && strings.HasPrefix(u, "http") {
		rows = append(rows, []urlButton{{Text: "Open on site", URL: u}})
	}
	if len(rows) == 0 {
		return nil
	}
	return &inlineKeyboard{InlineKeyboard: rows}
}

// inlineKeyboard is an inline keyboard of URL buttons only. The library's
// models.InlineKeyboardButton always encodes an empty "copy_text" object next to the URL,
// while the Bot API wants exactly one button type per button.
type inlineKeyboard struct {
	InlineKeyboard [][]urlButton `json:"inline_keyboard"`
}

type urlButton struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

func postRef(channel string, msg *models.Message) bots.Ref {
	ref := bots.Ref{ChatID: channel, MessageIDs: []string{strconv.Itoa(msg.ID)}}
	if msg.Chat.ID != 0 {
		ref.ChatID = strconv.FormatInt(msg.Chat.ID, 10)
	}
	return ref
}

var usernameRE = regexp.MustCompile(`^@?[A-Za-z][A-Za-z0-9_]{3,}$`)

// chatRef turns a configured channel into a chat_id: a numeric id, or "@username".
func chatRef(channel string) (any, error) {
	channel = strings.TrimSpace(channel)
	if id, err := strconv.ParseInt(channel, 10, 64); err == nil && id != 0 {
		return id, nil
	}
	if usernameRE.MatchString(channel) {
		return "@" + strings.TrimPrefix(channel, "@"), nil
	}
	return nil, fmt.Errorf("telegram: chat %q is neither a numeric id nor an @username: %w", channel, bots.ErrUnreachable)
}

// Send delivers messages to a reader's private chat (whose id is the user id), in order,
// with link previews off where asked. On error the Ref lists the parts already delivered.
func (b *Bot) Send(ctx context.Context, to bots.Recipient, msgs []bots.Message) (bots.Ref, error) {
	ref := bots.Ref{ChatID: to.UserID}
	chat, err := strconv.ParseInt(strings.TrimSpace(to.UserID), 10, 64)
	if err != nil || chat == 0 {
		return ref, fmt.Errorf("telegram: user id %q is not numeric: %w", to.UserID, bots.ErrUnreachable)
	}
	for i, m := range msgs {
		r := renderMessage(m)
		if r.Len() == 0 {
			continue
		}
		if n := r.Len(); n > MaxText {
			return ref, fmt.Errorf("telegram: message %d of %d is %d long, over %d: %w", i+1, len(msgs), n, MaxText, bots.ErrRejected)
		}
		msg, err := b.sendHTML(ctx, chat, r, m.NoPreview, nil, nil)
		if err != nil {
			return ref, err
		}
		ref.MessageIDs = append(ref.MessageIDs, strconv.Itoa(msg.ID))
	}
	return ref, nil
}

// sendHTML sends one rendered message and maps the library's error.
func (b *Bot) sendHTML(ctx context.Context, chat any, r *rendered, noPreview bool, replyTo *models.ReplyParameters, kb models.ReplyMarkup) (*models.Message, error) {
	params := &tg.SendMessageParams{ChatID: chat, Text: r.HTML(), ParseMode: models.ParseModeHTML, ReplyParameters: replyTo, ReplyMarkup: kb}
	if noPreview {
		params.LinkPreviewOptions = &models.LinkPreviewOptions{IsDisabled: tg.True()}
	}
	msg, err := b.api.SendMessage(ctx, params)
	if err != nil {
		return nil, b.mapError(err)
	}
	return msg, nil
}
