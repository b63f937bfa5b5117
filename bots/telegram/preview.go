package telegram

import "github.com/heraldnews/herald/bots"

// RenderMessage returns a DM message as the Telegram HTML Herald sends, for dry runs and previews.
func RenderMessage(m bots.Message) string { return renderMessage(m).HTML() }

// RenderCard returns a channel post as the Telegram HTML Herald sends (without the photo and buttons),
// for dry runs and previews.
func RenderCard(c bots.StoryCard) string {
	r, _ := fitCard(c, MaxText)
	return r.HTML()
}

// PreviewLimits returns the limits a Bot built from cfg would report, without connecting.
func PreviewLimits(cfg Config) bots.Limits {
	setDefault(&cfg.GlobalRate, DefaultGlobalRate)
	setDefault(&cfg.PerChatRate, DefaultPerChatRate)
	setDefault(&cfg.PerChannelRate, DefaultPerChannelRate)
	setDefault(&cfg.GlobalBurst, DefaultGlobalBurst)
	setDefault(&cfg.PerChatBurst, DefaultPerChatBurst)
	setDefault(&cfg.PerChannelBurst, DefaultPerChannelBurst)
	return bots.Limits{
		MaxText: MaxText, Measure: measure,
		GlobalRate: cfg.GlobalRate, GlobalBurst: cfg.GlobalBurst,
		PerChatRate: cfg.PerChatRate, PerChatBurst: cfg.PerChatBurst,
		PerChannelRate: cfg.PerChannelRate, PerChannelBurst: cfg.PerChannelBurst,
	}
}
