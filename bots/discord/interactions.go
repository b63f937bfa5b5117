package discord

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/heraldnews/herald/bots"
)

// Slash commands whose answer reads the store or delivers an article: they are deferred at once
// so that a slow answer never misses Discord's 3-second window.
var slowCommands = map[string]bool{"latest": true, "search": true, "story": true}

// Commands whose replies are always ephemeral because they concern the asker's account.
var personalCommands = map[string]bool{"link": true, "unlink": true, "status": true, "pause": true, "resume": true, "story": true}

// interactionTimeout bounds the work for one interaction; its token is valid for 15 minutes.
const interactionTimeout = 2 * time.Minute

// Commands returns the slash commands Herald registers; autocomplete marks whether "/story id"
// asks the bot for suggestions.
func Commands(autocomplete bool) []*discordgo.ApplicationCommand {
	contexts := &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM}
	installs := &[]discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall}
	cmd := func(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommand {
		if opts == nil {
			opts = []*discordgo.ApplicationCommandOption{}
		}
		return &discordgo.ApplicationCommand{
			Type: discordgo.ChatApplicationCommand, Name: name, Description: desc, Options: opts,
			Contexts: contexts, IntegrationTypes: installs,
		}
	}
	one, minLen := 1.0, 1
	return []*discordgo.ApplicationCommand{
		cmd("latest", "Show the latest stories",
			&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "count",
				Description: "How many stories (1-10)", MinValue: &one, MaxValue: 10}),
		cmd("search", "Search the stories",
			&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "query",
				Description: "Words to look for", Required: true, MinLength: &minLen, MaxLength: 200}),
		cmd("story", "Get a story: the full article by DM if your subscription is linked",
			&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "id",
				Description: "The story's number, or start typing its title", Required: true,
				MinLength: &minLen, MaxLength: 100, Autocomplete: autocomplete}),
		cmd("link", "Link your subscription with the code from the publisher's website",
			&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "code",
				Description: "The link code shown on the website", Required: true, MinLength: &minLen, MaxLength: 64}),
		cmd("unlink", "Unlink your subscription from this Discord account"),
		cmd("status", "Show your subscription and delivery status"),
		cmd("pause", "Pause full-article DMs"),
		cmd("resume", "Resume full-article DMs"),
		cmd("help", "How to use this bot"),
	}
}

// Run registers the slash commands with one bulk overwrite, opens the gateway and answers
// interactions with h until ctx ends; interactions in progress are finished before it returns.
func (b *Bot) Run(ctx context.Context, h bots.Handler) error {
	cmds := Commands(b.cfg.Autocomplete != nil)
	scope := "global"
	if b.cfg.GuildID != "" {
		scope = "guild " + b.cfg.GuildID
	}
	// Commands registered by an earlier start keep working, so a failed overwrite is loud but not fatal.
	if _, err := b.s.ApplicationCommandBulkOverwrite(b.appID, b.cfg.GuildID, cmds, discordgo.WithContext(ctx)); err != nil {
		b.log.Error("discord: registering slash commands failed; earlier registrations stay in effect", "scope", scope, "err", b.describe(err))
	} else {
		b.log.Info("discord: slash commands registered", "count", len(cmds), "scope", scope)
	}

	// Interactions get a context that survives shutdown briefly, so an answer is not cut in half.
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var (
		mu      sync.Mutex
		stopped bool
		wg      sync.WaitGroup
	)
	removeI := b.s.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
		mu.Lock()
		if stopped {
			mu.Unlock()
			return
		}
		wg.Add(1)
		mu.Unlock()
		defer wg.Done()
		ictx, icancel := context.WithTimeout(hctx, interactionTimeout)
		defer icancel()
		b.onInteraction(ictx, h, ic.Interaction)
	})
	removeR := b.s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) {
		name := ""
		if r.User != nil {
			name = r.User.Username
		}
		b.log.Info("discord: gateway ready", "bot", name, "guilds", len(r.Guilds))
	})
	defer removeR()
	if err := b.s.Open(); err != nil {
		removeI()
		return fmt.Errorf("discord: opening the gateway: %s", b.describe(err))
	}
	<-ctx.Done()
	removeI()
	mu.Lock()
	stopped = true
	mu.Unlock()
	// A heartbeat failing during Close would otherwise start discordgo's reconnect loop after we stopped.
	b.s.Lock()
	b.s.ShouldReconnectOnError = false
	b.s.Unlock()
	if err := b.s.Close(); err != nil {
		b.log.Warn("discord: closing the gateway", "err", b.describe(err))
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cancel()
		<-done
	}
	return nil
}

func (b *Bot) onInteraction(ctx context.Context, h bots.Handler, i *discordgo.Interaction) {
	if i == nil || i.Data == nil {
		return
	}
	switch i.Type {
	case discordgo.InteractionApplicationCommandAutocomplete:
		b.autocomplete(ctx, i)
	case discordgo.InteractionApplicationCommand:
		data := i.ApplicationCommandData()
		req := b.request(i, data.Name, commandArgs(data))
		b.answer(ctx, h, i, req, slowCommands[req.Command])
	case discordgo.InteractionMessageComponent:
		id, ok := strings.CutPrefix(i.MessageComponentData().CustomID, "story:")
		if _, err := strconv.ParseInt(id, 10, 64); !ok || err != nil {
			b.respond(ctx, i, outMessage{content: "This button no longer works.", ephemeral: true})
			return
		}
		b.answer(ctx, h, i, b.request(i, "story", id), true)
	}
}

// request builds the neutral request. Private is always true: a slash command's options and
// a button press are seen only by the asker and the bot, and the answers to personal commands
// are ephemeral, so even "/link code:" typed in a server channel reveals nothing to others.
func (b *Bot) request(i *discordgo.Interaction, command, args string) bots.Request {
	return bots.Request{
		Platform: "discord", UserID: interactionUser(i), ChatID: i.ChannelID, Private: true,
		Command: strings.ToLower(command), Args: args, Limits: b.Limits(),
	}
}

func interactionUser(i *discordgo.Interaction) string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
}

// commandArgs joins option values in the order the command declares them.
func commandArgs(data discordgo.ApplicationCommandInteractionData) string {
	var parts []string
	for _, decl := range Commands(true) {
		if decl.Name != data.Name {
			continue
		}
		for _, o := range decl.Options {
			if v := data.GetOption(o.Name); v != nil {
				if s := optionString(v.Value); s != "" {
					parts = append(parts, s)
				}
			}
		}
	}
	return strings.Join(parts, " ")
}

func optionString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// outMessage is one interaction answer or follow-up.
type outMessage struct {
	content    string
	embeds     []*discordgo.MessageEmbed
	components []discordgo.MessageComponent
	ephemeral  bool
}

// answer runs a request through the handler and answers the interaction. Deferred answers
// are acknowledged first (ephemeral, since Discord fixes visibility at deferral, before the
// handler says whether its reply is personal) and completed by editing the original response.
func (b *Bot) answer(ctx context.Context, h bots.Handler, i *discordgo.Interaction, req bots.Request, deferred bool) {
	if deferred {
		err := b.s.InteractionRespond(i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions()},
		}, discordgo.WithContext(ctx))
		if err != nil {
			b.log.Warn("discord: deferring an interaction failed", "command", req.Command, "err", b.describe(err))
			return
		}
	}
	reply := b.handle(ctx, h, req)
	msgs := b.replyMessages(ctx, i, req, reply)
	ephemeral := deferred || personalCommands[req.Command] || reply.Personal || reply.Error
	for k := range msgs {
		msgs[k].ephemeral = ephemeral
	}
	for k, m := range msgs {
		var err error
		switch {
		case k == 0 && deferred:
			err = b.editOriginal(ctx, i, m)
		case k == 0:
			err = b.respond(ctx, i, m)
		default:
			err = b.followUp(ctx, i, m)
		}
		if err != nil {
			b.log.Warn("discord: answering an interaction failed", "command", req.Command, "err", b.describe(err))
			break
		}
	}
	for _, n := range reply.Notices {
		if _, err := b.Send(ctx, bots.Recipient{UserID: n.UserID}, bots.Split(n.Blocks, b.Limits())); err != nil {
			b.log.Warn("discord: a notice could not be delivered", "user", n.UserID, "err", err)
		}
	}
}

// handle calls the handler; a panic in it becomes an error reply instead of ending the process.
func (b *Bot) handle(ctx context.Context, h bots.Handler, req bots.Request) (reply bots.Reply) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("discord: command handler panicked", "command", req.Command, "panic", fmt.Sprint(p))
			reply = bots.Reply{Blocks: bots.Text("Something went wrong on our side. Please try again later."), Error: true}
		}
	}()
	return h.Handle(ctx, req)
}

// Texts shown when an article goes, or cannot go, to the reader's DMs.
const (
	sentToDMs      = "I've sent you the full article in a direct message."
	dmsClosedHelp  = "I can't send you direct messages, so I couldn't deliver the article. To allow them: open this server's menu (click its name), choose **Privacy Settings** and turn on **Direct Messages**, or in **User Settings → Privacy & Safety** allow direct messages from server members. Then press the button or run `/story` again."
	dmsPartialHelp = "Part of the article reached your DMs, then Discord stopped me sending more. Allow direct messages from this server's members (server menu → **Privacy Settings**) and ask again."
	dmsFailed      = "I couldn't deliver the article just now. Please try again in a minute."
)

// replyMessages renders a reply, delivering its article to the asker's DMs first.
func (b *Bot) replyMessages(ctx context.Context, i *discordgo.Interaction, req bots.Request, r bots.Reply) []outMessage {
	var texts []string
	if len(r.Blocks) > 0 {
		for _, m := range bots.Split(r.Blocks, b.Limits()) {
			texts = append(texts, b.contents(m)...)
		}
	}
	if len(r.Article) > 0 {
		texts = append(texts, b.deliverArticle(ctx, i, req, r.Article))
	}
	var out []outMessage
	for _, t := range texts {
		out = append(out, outMessage{content: t})
	}
	// Discord allows 10 embeds and 6000 characters of embed text per message, and 5 rows of
	// 5 buttons; each button sits in the message of its embed.
	for stories := r.Stories; len(stories) > 0; {
		var embeds []*discordgo.MessageEmbed
		var rows, row []discordgo.MessageComponent
		size := 0
		for len(stories) > 0 && len(embeds) < 10 {
			c := stories[0]
			e := storyEmbed(c, listSummaryLen)
			if len(embeds) > 0 && size+embedText(e) > maxEmbedsText {
				break
			}
			stories = stories[1:]
			embeds, size = append(embeds, e), size+embedText(e)
			if btns := storyButtons(c, "Full article: "+c.Title, false); btns != nil {
				row = append(row, btns.Components...)
			}
			if len(row) == 5 {
				rows, row = append(rows, discordgo.ActionsRow{Components: row}), nil
			}
		}
		if len(row) > 0 {
			rows = append(rows, discordgo.ActionsRow{Components: row})
		}
		if len(out) > 0 && out[len(out)-1].embeds == nil {
			out[len(out)-1].embeds, out[len(out)-1].components = embeds, rows
		} else {
			out = append(out, outMessage{embeds: embeds, components: rows})
		}
	}
	if len(out) == 0 {
		out = append(out, outMessage{content: "Done."})
	}
	return out
}

// deliverArticle sends an article to the asker's DMs and returns what to tell them.
func (b *Bot) deliverArticle(ctx context.Context, i *discordgo.Interaction, req bots.Request, article []bots.Message) string {
	to := bots.Recipient{UserID: req.UserID}
	if i.GuildID == "" && i.User != nil && i.Context != discordgo.InteractionContextPrivateChannel {
		to.DMChat = i.ChannelID // asked in the DM with the bot: that channel is the DM
	}
	ref, err := b.Send(ctx, to, article)
	switch {
	case err == nil:
		return sentToDMs
	case errors.Is(err, bots.ErrUnreachable) && len(ref.MessageIDs) > 0:
		return dmsPartialHelp
	case errors.Is(err, bots.ErrUnreachable):
		return dmsClosedHelp
	default:
		b.log.Warn("discord: article DM failed", "user", req.UserID, "err", err)
		return dmsFailed
	}
}

func (b *Bot) respond(ctx context.Context, i *discordgo.Interaction, m outMessage) error {
	data := &discordgo.InteractionResponseData{
		Content: m.content, Embeds: m.embeds, Components: m.components, AllowedMentions: noMentions(),
	}
	if m.ephemeral {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	return b.s.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data,
	}, discordgo.WithContext(ctx))
}

func (b *Bot) editOriginal(ctx context.Context, i *discordgo.Interaction, m outMessage) error {
	content := m.content
	embeds := m.embeds
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{}
	}
	comps := m.components
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	_, err := b.s.InteractionResponseEdit(i, &discordgo.WebhookEdit{
		Content: &content, Embeds: &embeds, Components: &comps, AllowedMentions: noMentions(),
	}, discordgo.WithContext(ctx))
	return err
}

func (b *Bot) followUp(ctx context.Context, i *discordgo.Interaction, m outMessage) error {
	p := &discordgo.WebhookParams{Content: m.content, Embeds: m.embeds, Components: m.components, AllowedMentions: noMentions()}
	if m.ephemeral {
		p.Flags = discordgo.MessageFlagsEphemeral
	}
	_, err := b.s.FollowupMessageCreate(i, true, p, discordgo.WithContext(ctx))
	return err
}

// autocomplete answers "/story id" suggestions; Discord shows at most 25, names and values ≤ 100.
func (b *Bot) autocomplete(ctx context.Context, i *discordgo.Interaction) {
	var choices []*discordgo.ApplicationCommandOptionChoice
	data := i.ApplicationCommandData()
	if b.cfg.Autocomplete != nil && data.Name == "story" {
		prefix := ""
		for _, o := range data.Options {
			if o.Focused {
				prefix = optionString(o.Value)
			}
		}
		actx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
		for _, c := range b.cfg.Autocomplete(actx, prefix) {
			if c.Value == "" || len(c.Value) > 100 {
				continue
			}
			name := truncate(strings.TrimSpace(c.Name), 100)
			if name == "" {
				name = c.Value
			}
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: name, Value: c.Value})
			if len(choices) == 25 {
				break
			}
		}
		cancel()
	}
	if choices == nil {
		choices = []*discordgo.ApplicationCommandOptionChoice{}
	}
	err := b.s.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices},
	}, discordgo.WithContext(ctx))
	if err != nil {
		b.log.Warn("discord: autocomplete answer failed", "err", b.describe(err))
	}
}
