// Package bots is the platform-neutral core of Herald's chat bots: the Platform
// interface that adapters implement, the neutral message model, the reader
// commands and the outbox dispatcher.
package bots

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heraldnews/herald/store"
)

// Platform is one chat platform as the core sees it; adapters in bots/telegram and bots/discord implement it.
// Errors from Post and Send are classified with RetryAfter, ErrUnreachable, ErrRejected and ChatMigrated.
type Platform interface {
	// Name is the platform's stable name: "telegram", "discord", "console".
	Name() string
	// Run receives reader commands and hands them to h until ctx ends.
	Run(ctx context.Context, h Handler) error
	// Post publishes a story's summary card to a channel (a configured channel name or id).
	Post(ctx context.Context, channel string, card StoryCard) (Ref, error)
	// Send delivers already split messages to a reader's DMs, in order. On error, Ref holds
	// the ids of the parts the platform acknowledged before it, so they are never sent again.
	Send(ctx context.Context, to Recipient, msgs []Message) (Ref, error)
	// Limits describes message sizes and rates.
	Limits() Limits
}

// Handler answers reader commands; *Commands implements it.
type Handler interface {
	Handle(ctx context.Context, req Request) Reply
}

// Recipient is a reader's account on a platform.
type Recipient struct {
	UserID string
	// DMChat is the DM channel id if one was opened before (Discord); adapters may ignore it.
	DMChat string
}

// Ref identifies what the platform accepted.
type Ref struct {
	// ChatID is the chat the messages went to (a Discord DM channel id, a Telegram chat id); stored for reuse.
	ChatID     string
	MessageIDs []string
}

// StoryCard is the summary of a story as posted to channels.
type StoryCard struct {
	StoryID     int64
	Title       string
	Summary     string // the summary, or the feed excerpt when no text could be extracted
	Byline      string
	URL         string
	ImageURL    string
	SiteName    string
	PublishedAt time.Time
	Summarizer  string // which summarizer made Summary; empty when Summary is an excerpt
	HasFullText bool   // whether entitled readers can get the full article
}

// CardFromStory builds the channel card for a story.
func CardFromStory(s store.Story) StoryCard {
	summary := s.Summary
	if summary == "" {
		summary = s.Excerpt
	}
	return StoryCard{
		StoryID: s.ID, Title: s.Title, Summary: summary, Byline: s.Byline, URL: s.URL, ImageURL: s.ImageURL,
		SiteName: s.SiteName, PublishedAt: s.PublishedAt, Summarizer: s.Summarizer, HasFullText: s.HasFullText(),
	}
}

// Message is one platform message in neutral form; adapters render Blocks to their markup.
type Message struct {
	Blocks store.Body
	// Part and Total number the pieces of a split article ("(1/3)"); Total is 0 or 1 for a single message.
	Part, Total int
	// NoPreview asks the platform not to unfurl links (article bodies are full of them).
	NoPreview bool
}

// Limits describes a platform's message sizes and rates.
type Limits struct {
	// MaxText is the largest message, in the platform's own length units.
	MaxText int
	// Measure returns the length of a message as the platform counts it after rendering
	// (Telegram: UTF-16 units of the text after entity parsing; Discord: characters of the content).
	Measure func(Message) int
	// GlobalRate and GlobalBurst bound all sends of the platform (messages per second).
	GlobalRate  float64
	GlobalBurst int
	// PerChatRate and PerChatBurst bound sends to one private chat.
	PerChatRate  float64
	PerChatBurst int
	// PerChannelRate and PerChannelBurst bound posts to one group or channel.
	PerChannelRate  float64
	PerChannelBurst int
}

// RetryAfter is a transient failure: the platform asked to wait (429), failed on its side (5xx) or timed out.
type RetryAfter struct {
	// After is the platform's requested delay; 0 means unknown (the dispatcher backs off exponentially).
	After time.Duration
	// Global is true when the delay applies to the whole bot, not only this chat (a 429).
	Global bool
	Reason string
}

// Error says how long to wait, when the platform said, and why.
func (e *RetryAfter) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("retry after %s: %s", e.After, e.Reason)
	}
	return "retry later: " + e.Reason
}

// ErrUnreachable marks a recipient that cannot be messaged (bot blocked, DMs closed, unknown chat); never retried.
var ErrUnreachable = errors.New("recipient unreachable")

// ErrRejected marks a message the platform refused as malformed (a 400 about our own message): a bug, never retried.
var ErrRejected = errors.New("message rejected")

// ChatMigrated reports that a Telegram group became a supergroup with a new chat id; the post should be retried there.
type ChatMigrated struct{ NewChatID string }

// Error names the chat id the group moved to.
func (e *ChatMigrated) Error() string { return "chat migrated to " + e.NewChatID }

// Request is a reader command as an adapter received it.
type Request struct {
	Platform string
	UserID   string
	ChatID   string
	// Private is true in a one-to-one chat with the bot (and for Discord ephemeral interactions);
	// personal commands with secrets (link codes) are refused elsewhere.
	Private bool
	// Command is the lowercase command name without slash or @botname: "link", "start", "story", …
	Command string
	Args    string
	// Limits lets replies with an article be split for the asking platform.
	Limits Limits
}

// Reply is the neutral answer to a Request; adapters render it.
type Reply struct {
	Blocks store.Body
	// Personal replies are private to the asker (Discord: ephemeral).
	Personal bool
	// Stories lists stories for latest/search; adapters may render them as a list or embeds.
	Stories []StoryCard
	// Article holds a full article, already split, to be delivered to the asker's DMs.
	Article []Message
	// Notices are messages for other accounts, such as the old account of a moved link.
	Notices []Notice
	// Error marks a reply that explains a failure (unknown command, bad code).
	Error bool
}

// Notice is a message for another reader of the same platform.
type Notice struct {
	UserID string
	Blocks store.Body
}

// Text builds a body of plain paragraphs from strings, for short replies.
func Text(paragraphs ...string) store.Body {
	b := make(store.Body, 0, len(paragraphs))
	for _, p := range paragraphs {
		b = append(b, store.Block{Kind: store.BlockParagraph, Spans: []store.Span{{Text: p}}})
	}
	return b
}
