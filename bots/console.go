package bots

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Console is a Platform that prints what would be posted and DMed instead of sending it;
// `herald serve --dry-run` puts one in place of each real platform.
type Console struct {
	name   string
	out    io.Writer
	limits Limits
	// RenderCard and RenderMessage show the platform's own markup when set (the adapters'
	// renderers); otherwise a neutral plain-text form is printed.
	RenderCard    func(StoryCard) string
	RenderMessage func(Message) string

	mu  sync.Mutex
	seq atomic.Int64
}

var _ Platform = (*Console)(nil)

// NewConsole returns a console printer standing in for the platform called name.
func NewConsole(name string, out io.Writer, l Limits) *Console {
	if l.MaxText == 0 {
		l.MaxText = 4096
	}
	if l.Measure == nil {
		l.Measure = func(m Message) int { return utf8.RuneCountInString(PlainText(m)) }
	}
	return &Console{name: name, out: out, limits: l}
}

// Name returns the name of the platform the console stands in for.
func (c *Console) Name() string { return c.name }

// Run does nothing until ctx ends: a dry run receives no reader commands.
func (c *Console) Run(ctx context.Context, h Handler) error {
	<-ctx.Done()
	return nil
}

// Limits returns the limits of the platform the console stands in for.
func (c *Console) Limits() Limits { return c.limits }

// Post prints the channel post.
func (c *Console) Post(ctx context.Context, channel string, card StoryCard) (Ref, error) {
	text := ""
	if c.RenderCard != nil {
		text = c.RenderCard(card)
	} else {
		text = PlainCard(card)
	}
	var buttons []string
	if card.HasFullText {
		buttons = append(buttons, "[Read the full article]")
	}
	if card.URL != "" {
		buttons = append(buttons, "[Open on site]")
	}
	id := strconv.FormatInt(c.seq.Add(1), 10)
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, "──── %s: post to channel %s (story %d) ────\n%s\n", c.name, channel, card.StoryID, strings.TrimRight(text, "\n"))
	if len(buttons) > 0 {
		fmt.Fprintf(c.out, "%s\n", strings.Join(buttons, " "))
	}
	fmt.Fprintln(c.out)
	return Ref{ChatID: channel, MessageIDs: []string{id}}, nil
}

// Send prints the DM messages.
func (c *Console) Send(ctx context.Context, to Recipient, msgs []Message) (Ref, error) {
	ref := Ref{ChatID: "dm:" + to.UserID}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range msgs {
		text := ""
		if c.RenderMessage != nil {
			text = c.RenderMessage(m)
		} else {
			text = PlainText(m)
		}
		fmt.Fprintf(c.out, "──── %s: DM to user %s, message %d of %d (%d of max %d) ────\n%s\n\n",
			c.name, to.UserID, i+1, len(msgs), c.limits.Measure(m), c.limits.MaxText, strings.TrimRight(text, "\n"))
		ref.MessageIDs = append(ref.MessageIDs, strconv.FormatInt(c.seq.Add(1), 10))
	}
	return ref, nil
}

// PlainCard renders a story card as plain text.
func PlainCard(card StoryCard) string {
	var sb strings.Builder
	if card.Title != "" {
		sb.WriteString(card.Title + "\n\n")
	}
	if card.Summary != "" {
		sb.WriteString(card.Summary + "\n\n")
	}
	var meta []string
	if card.Byline != "" {
		meta = append(meta, card.Byline)
	}
	if !card.PublishedAt.IsZero() {
		meta = append(meta, card.PublishedAt.UTC().Format("2 Jan 2006 15:04 MST"))
	}
	if len(meta) > 0 {
		sb.WriteString(strings.Join(meta, " · ") + "\n")
	}
	if card.URL != "" {
		sb.WriteString(card.URL + "\n")
	}
	if card.Summarizer != "" {
		sb.WriteString("(summary: " + card.Summarizer + ")")
	}
	return sb.String()
}

// PlainText renders a message's blocks as plain text, with a "(i/n)" marker on split articles.
func PlainText(m Message) string {
	var sb strings.Builder
	for i, b := range m.Blocks {
		if i > 0 {
			sb.WriteString("\n\n")
		}
		switch b.Kind {
		case "h":
			sb.WriteString(strings.ToUpper(b.Text()))
		case "li":
			sb.WriteString(strings.Repeat("  ", b.Level))
			if b.Ordered {
				sb.WriteString(strconv.Itoa(b.Index) + ". ")
			} else {
				sb.WriteString("• ")
			}
			sb.WriteString(b.Text())
		case "quote":
			sb.WriteString("> " + b.Text())
		default:
			sb.WriteString(b.Text())
		}
	}
	if m.Total > 1 {
		fmt.Fprintf(&sb, "\n\n(%d/%d)", m.Part, m.Total)
	}
	return sb.String()
}
