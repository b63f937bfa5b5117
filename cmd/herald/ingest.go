package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/bots/discord"
	"github.com/heraldnews/herald/bots/telegram"
	"github.com/heraldnews/herald/store"
	"github.com/heraldnews/herald/summarize"
)

func init() {
	register(&command{
		name:    "ingest",
		summary: "add one story now from an HTML page, a text file or a feed (its newest item), and queue it",
		usage:   "[--json] FILE|URL|-",
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object with the story id and what happened")
		},
		run: runIngest,
	})
	register(&command{
		name:    "preview",
		summary: "show the cleaned text, summary and platform messages of an article without touching the database",
		usage:   "[--json] FILE|URL|-",
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object (title, byline, published_at, text, summary, summarizer, …)")
		},
		run: runPreview,
	})
}

func runIngest(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	cfg, logger, err := e.articleCommand(o, args)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, logger, appOptions{out: e.stdout, offline: true})
	if err != nil {
		return err
	}
	defer a.Close()
	pipe := a.pipeline
	inputs, err := loadInputs(ctx, pipe, e, args[0], cfg.Ingest.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(inputs) > 1 {
		logger.Info("feed has several items; ingesting the newest", "items", len(inputs))
	}
	st, res, err := pipe.Process(ctx, inputs[0], true)
	if err != nil {
		return err
	}
	outcome := map[store.UpsertResult]string{store.StoryCreated: "created", store.StoryUpdated: "updated", store.StoryUnchanged: "unchanged"}[res]
	platforms := a.queuePlatforms
	queued := res == store.StoryCreated && len(platforms) > 0
	if o.jsonOut {
		return writeJSONLine(e.stdout, map[string]any{
			"id": st.ID, "result": outcome, "queued": queued, "title": st.Title,
			"has_full_text": st.HasFullText(), "extract_error": st.ExtractError, "summarizer": st.Summarizer,
		})
	}
	fmt.Fprintf(e.stdout, "story %d %s: %s\n", st.ID, outcome, titleOr(st))
	switch {
	case st.ExtractError != "":
		fmt.Fprintf(e.stdout, "no full text: %s\n", st.ExtractError)
	case res != store.StoryCreated:
		fmt.Fprintln(e.stdout, "already known: not queued again")
	case queued:
		fmt.Fprintf(e.stdout, "queued for delivery on %s; a running `herald serve` sends it\n", strings.Join(platforms, " and "))
	default:
		fmt.Fprintln(e.stdout, "stored, not queued: no platform has a token (set HERALD_TELEGRAM_TOKEN or HERALD_DISCORD_TOKEN)")
	}
	return nil
}

// previewPlatforms render a story as each platform would receive it: same limits, same markup.
var previewPlatforms = []struct {
	platform string
	limits   bots.Limits
	card     func(bots.StoryCard) string
	render   func(bots.Message) string
}{
	{"telegram", telegram.PreviewLimits(telegram.Config{}), telegram.RenderCard, telegram.RenderMessage},
	{"discord", bots.Limits{MaxText: discord.MaxContent, Measure: discord.Measure}, bots.PlainCard, discord.Render},
}

func runPreview(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	cfg, logger, err := e.articleCommand(o, args)
	if err != nil {
		return err
	}
	pipe, err := offlinePipeline(ctx, cfg, logger)
	if err != nil {
		return err
	}
	inputs, err := loadInputs(ctx, pipe, e, args[0], cfg.Ingest.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(inputs) > 1 {
		fmt.Fprintf(e.stderr, "feed with %d items: previewing the newest\n", len(inputs))
	}
	st, err := pipe.Prepare(ctx, inputs[0])
	if err != nil {
		return err
	}
	var s summarize.Summary
	var sumErr error
	if st.HasFullText() {
		if s, sumErr = pipe.Summarize(ctx, st); sumErr == nil {
			st.Summary, st.Summarizer, st.SummaryModel = s.Text, s.Summarizer, s.Model
		}
	}
	card := bots.PlainCard(bots.CardFromStory(st))
	posts := map[string]string{}
	dms := map[string][]string{}
	for _, p := range previewPlatforms {
		posts[p.platform] = p.card(bots.CardFromStory(st))
		if !st.HasFullText() {
			continue
		}
		for _, m := range bots.ArticleMessages(st, p.limits) {
			dms[p.platform] = append(dms[p.platform], p.render(m))
		}
	}
	if o.jsonOut {
		v := map[string]any{
			"title": st.Title, "byline": st.Byline, "published_at": rfc3339(st.PublishedAt), "url": st.URL,
			"image_url": st.ImageURL, "site_name": st.SiteName, "lang": st.Lang, "excerpt": st.Excerpt,
			"text": st.Text, "summary": st.Summary, "summarizer": st.Summarizer, "model": st.SummaryModel,
			"extract_error": st.ExtractError, "channel_post": card, "posts": posts, "dm": dms,
		}
		if sumErr != nil {
			v["summary_error"] = sumErr.Error()
		}
		return writeJSONLine(e.stdout, v)
	}
	printPreview(e.stdout, st, posts, dms, sumErr)
	return nil
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func printPreview(w io.Writer, st store.Story, posts map[string]string, dms map[string][]string, sumErr error) {
	section := func(title string) { fmt.Fprintf(w, "\n──── %s ────\n", title) }
	fmt.Fprintf(w, "title      %s\n", titleOr(st))
	for _, kv := range [][2]string{{"byline", st.Byline}, {"published", rfc3339(st.PublishedAt)}, {"url", st.URL}, {"image", st.ImageURL}, {"site", st.SiteName}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%-10s %s\n", kv[0], kv[1])
		}
	}
	if st.ExtractError != "" {
		fmt.Fprintf(w, "NO FULL TEXT: %s\n", st.ExtractError)
		section("excerpt")
		fmt.Fprintln(w, st.Excerpt)
	} else {
		section(fmt.Sprintf("text: %d blocks, %d characters", len(st.Body), utf8.RuneCountInString(st.Text)))
		fmt.Fprintln(w, st.Text)
	}
	switch {
	case sumErr != nil:
		section("summary")
		fmt.Fprintf(w, "(failed: %v)\n", sumErr)
	case st.Summary != "":
		by := st.Summarizer
		if st.SummaryModel != "" {
			by += ", " + st.SummaryModel
		}
		section("summary (" + by + ")")
		fmt.Fprintln(w, st.Summary)
	}
	for _, p := range previewPlatforms {
		section(p.platform + ": channel post")
		fmt.Fprintln(w, posts[p.platform])
	}
	for _, p := range previewPlatforms {
		msgs := dms[p.platform]
		if len(msgs) == 0 {
			continue
		}
		section(fmt.Sprintf("%s DM: %d message(s) of at most %d characters", p.platform, len(msgs), p.limits.MaxText))
		fmt.Fprintln(w, strings.Join(msgs, "\n\n┈┈┈┈\n\n"))
	}
}
