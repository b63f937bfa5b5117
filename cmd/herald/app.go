package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/heraldnews/herald/api"
	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/bots/discord"
	"github.com/heraldnews/herald/bots/telegram"
	"github.com/heraldnews/herald/ingest"
	"github.com/heraldnews/herald/store"
	"github.com/heraldnews/herald/summarize"
)

type appOptions struct {
	dryRun bool
	out    io.Writer // where the dry-run printer writes
	// offline builds the store, summarizer, queue and pipeline without connecting to any platform
	// (for `herald ingest`): stories are queued for the platforms that have tokens, and the
	// running `herald serve` delivers them.
	offline bool
}

// app is Herald wired together: the one place that builds concrete types from the config.
type app struct {
	cfg    Config
	opts   appOptions
	logger *slog.Logger
	store  *store.Store
	reg    *prometheus.Registry
	tmpDir string // dry run: holds the throwaway database

	summarizer  summarize.Summarizer
	metrics     *bots.Metrics
	platforms   []bots.Platform
	dispatchers []*bots.Dispatcher
	queuer      *bots.Queuer
	pipeline    *ingest.Pipeline
	poller      *ingest.Poller
	commands    *bots.Commands
	api         *api.Server
	stopSample  func()
	mountLater  []mount
	// queuePlatforms are the platforms stories are queued for.
	queuePlatforms []string
}

func newApp(ctx context.Context, cfg Config, logger *slog.Logger, opts appOptions) (_ *app, err error) {
	a := &app{cfg: cfg, opts: opts, logger: logger, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.Close() // a is the local one: the returned value is nil on error
		}
	}()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	a.reg.MustRegister(newStatsCollector(a.store, logger))
	if opts.dryRun && len(a.cfg.Ingest.Feeds) == 0 {
		if err := a.useSample(ctx); err != nil {
			return nil, err
		}
	}
	sum, check, err := buildSummarizer(a.cfg.Summarize, a.store, logger)
	if err != nil {
		return nil, err
	}
	if check != nil && !opts.offline {
		if err := check(ctx); err != nil {
			if errors.Is(err, errConfig) {
				return nil, err
			}
			logger.Warn("summarize: model check failed; stories will get extractive summaries until the model answers", "err", err)
		}
	}
	a.summarizer = sum
	if a.metrics, err = bots.NewMetrics(a.reg); err != nil {
		return nil, err
	}
	if !opts.offline {
		if err := a.buildPlatforms(ctx); err != nil {
			return nil, err
		}
	}
	a.buildDelivery()
	if err := a.buildIngest(); err != nil {
		return nil, err
	}
	a.commands = bots.NewCommands(a.store, bots.CommandOptions{
		SiteName: a.cfg.Links.SiteName, SubscribeURL: a.cfg.Links.SubscribeURL, Logger: logger,
		LinkPolicy: store.LinkPolicy{MaxAttempts: a.cfg.Links.MaxAttempts, Window: a.cfg.Links.AttemptWindow.Duration},
	})
	username := a.cfg.Telegram.BotUsername
	for _, p := range a.platforms {
		if tg, ok := p.(*telegram.Bot); ok {
			username = tg.Username()
			if a.cfg.Telegram.WebhookURL != "" {
				u, _ := url.Parse(a.cfg.Telegram.WebhookURL)
				a.mountLater = append(a.mountLater, mount{pattern: "POST " + u.Path, h: tg.WebhookHandler()})
			}
		}
	}
	a.api = api.New(api.Options{
		Store: a.store, Token: a.cfg.API.Token, Logger: logger, Gatherer: a.reg, Pusher: a.pipeline,
		TelegramBotUsername: username, LinkCodeTTL: a.cfg.Links.CodeTTL.Duration,
	})
	for _, m := range a.mountLater {
		a.api.Handle(m.pattern, m.h)
	}
	return a, nil
}

type mount struct {
	pattern string
	h       http.Handler
}

// openStore opens the configured database; a dry run works on a throwaway copy so that
// nothing it "delivers" is recorded as delivered for the real run.
func (a *app) openStore(ctx context.Context) error {
	path := a.cfg.Store.Path
	if a.opts.dryRun {
		dir, err := os.MkdirTemp("", "herald-dry-run-")
		if err != nil {
			return fmt.Errorf("dry run: %w", err)
		}
		a.tmpDir = dir
		tmp := filepath.Join(dir, "herald.db")
		if _, err := os.Stat(path); err == nil {
			src, err := store.Open(path)
			if err != nil {
				return err
			}
			err = src.SnapshotTo(ctx, tmp)
			src.Close()
			if err != nil {
				return err
			}
		}
		a.logger.Info("dry run: working on a throwaway copy of the database", "source", path)
		path = tmp
	}
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	a.store = st
	return nil
}

// useSample points a dry run with no feeds at the sample newsroom, a demo channel and a demo subscriber.
func (a *app) useSample(ctx context.Context) error {
	feedURL, stop, err := startSampleSite()
	if err != nil {
		return err
	}
	a.stopSample = stop
	two := 2
	a.cfg.Ingest.Feeds = []FeedConfig{{URL: feedURL, Name: "The Harbour Ledger (sample)", Interval: a.cfg.Ingest.Interval, Backfill: &two}}
	if len(a.cfg.Telegram.Channels) == 0 && len(a.cfg.Discord.Channels) == 0 {
		a.cfg.Telegram.Channels = []string{sampleChannel}
	}
	a.logger.Info("dry run: no feeds configured, using the sample newsroom feed", "feed", feedURL, "channel", sampleChannel, "demo_reader", sampleReaderID)
	return seedSampleReader(ctx, a.store)
}

// buildPlatforms connects to each platform that has a token, or stands a console printer in for it in a dry run.
func (a *app) buildPlatforms(ctx context.Context) error {
	if a.opts.dryRun && a.cfg.Telegram.Token == "" && len(a.cfg.Telegram.Channels) == 0 && a.cfg.Discord.Token == "" && len(a.cfg.Discord.Channels) == 0 {
		// Nothing configured to post to: show what a Telegram channel would get rather than nothing.
		a.cfg.Telegram.Channels = []string{sampleChannel}
		a.logger.Info("dry run: no platform configured, showing a Telegram demo channel", "channel", sampleChannel)
	}
	tc, dc := a.cfg.Telegram, a.cfg.Discord
	if a.opts.dryRun {
		if tc.Token != "" || len(tc.Channels) > 0 {
			c := bots.NewConsole("telegram", a.opts.out, telegram.PreviewLimits(a.telegramConfig()))
			c.RenderCard, c.RenderMessage = telegram.RenderCard, telegram.RenderMessage
			a.platforms = append(a.platforms, c)
		}
		if dc.Token != "" || len(dc.Channels) > 0 {
			l := bots.Limits{MaxText: discord.MaxContent, Measure: discord.Measure, GlobalRate: dc.GlobalRate, GlobalBurst: int(dc.GlobalRate),
				PerChatRate: 1, PerChatBurst: 5, PerChannelRate: dc.ChannelPerSecond, PerChannelBurst: 5}
			c := bots.NewConsole("discord", a.opts.out, l)
			c.RenderCard = func(card bots.StoryCard) string { return bots.PlainCard(card) }
			c.RenderMessage = discord.Render
			a.platforms = append(a.platforms, c)
		}
		return nil
	}
	if tc.Token == "" {
		a.logger.Info("telegram disabled: no token (set HERALD_TELEGRAM_TOKEN)", "channels", len(tc.Channels))
	} else {
		tg, err := telegram.New(ctx, a.telegramConfig())
		if err != nil {
			return err
		}
		a.platforms = append(a.platforms, tg)
	}
	if dc.Token == "" {
		a.logger.Info("discord disabled: no token (set HERALD_DISCORD_TOKEN)", "channels", len(dc.Channels))
	} else {
		d, err := discord.New(ctx, discord.Config{
			Token: dc.Token, APIURL: dc.APIURL, ApplicationID: dc.ApplicationID, GuildID: dc.GuildID, Logger: a.logger,
			GlobalRate: dc.GlobalRate, GlobalBurst: int(dc.GlobalRate), PerChannelRate: dc.ChannelPerSecond, PerChannelBurst: 5,
			Autocomplete: a.autocomplete,
		})
		if err != nil {
			return err
		}
		a.platforms = append(a.platforms, d)
	}
	return nil
}

func (a *app) telegramConfig() telegram.Config {
	tc := a.cfg.Telegram
	return telegram.Config{
		Token: tc.Token, APIURL: tc.APIURL, BotUsername: tc.BotUsername, PollTimeout: tc.PollTimeout.Duration,
		WebhookURL: tc.WebhookURL, WebhookSecret: tc.WebhookSecret, Logger: a.logger,
		GlobalRate: tc.GlobalRate, GlobalBurst: int(tc.GlobalRate), PerChatRate: tc.ChatRate, PerChatBurst: tc.ChatBurst,
		PerChannelRate: tc.ChannelPerMinute / 60, PerChannelBurst: 3,
	}
}

// autocomplete offers recent story titles for Discord's /story option.
func (a *app) autocomplete(ctx context.Context, prefix string) []discord.Choice {
	stories, err := a.store.RecentStoryTitles(ctx, prefix, 25)
	if err != nil {
		a.logger.Warn("autocomplete", "err", err)
		return nil
	}
	out := make([]discord.Choice, 0, len(stories))
	for _, s := range stories {
		name := fmt.Sprintf("%d · %s", s.ID, s.Title)
		if r := []rune(name); len(r) > 100 {
			name = string(r[:99]) + "…"
		}
		out = append(out, discord.Choice{Name: name, Value: fmt.Sprint(s.ID)})
	}
	return out
}

func (a *app) buildDelivery() {
	qc := bots.QueuerConfig{Channels: map[string][]string{"telegram": a.cfg.Telegram.Channels, "discord": a.cfg.Discord.Channels}}
	var wakers []bots.Waker
	for _, p := range a.platforms {
		d := bots.NewDispatcher(a.store, p, bots.DispatcherConfig{
			Concurrency: a.cfg.Delivery.Concurrency, MaxAttempts: a.cfg.Delivery.MaxAttempts,
			PollInterval: a.cfg.Delivery.PollInterval.Duration, ShutdownGrace: a.cfg.Delivery.ShutdownTimeout.Duration,
		}, a.logger, a.metrics)
		a.dispatchers = append(a.dispatchers, d)
		wakers = append(wakers, d)
		qc.Platforms = append(qc.Platforms, p.Name())
	}
	if a.opts.offline {
		if a.cfg.Telegram.Token != "" {
			qc.Platforms = append(qc.Platforms, "telegram")
		}
		if a.cfg.Discord.Token != "" {
			qc.Platforms = append(qc.Platforms, "discord")
		}
	}
	a.queuePlatforms = qc.Platforms
	a.queuer = bots.NewQueuer(a.store, qc, a.logger, a.metrics, wakers...)
}

func (a *app) buildIngest() error {
	a.pipeline = ingest.NewPipeline(a.store, a.summarizer, a.queuer, ingest.PipelineOptions{HTTP: httpOptions(a.cfg), Logger: a.logger})
	ic := ingest.Config{Concurrency: a.cfg.Ingest.Concurrency, DisableAfter: a.cfg.Ingest.DisableAfter,
		DefaultInterval: a.cfg.Ingest.Interval.Duration, HTTP: httpOptions(a.cfg)}
	for _, f := range a.cfg.Ingest.Feeds {
		ic.Feeds = append(ic.Feeds, ingest.FeedConfig{URL: f.URL, Name: f.Name, Interval: f.Interval.Duration,
			Headers: f.Headers, DropPatterns: f.DropPatterns, Backfill: *f.Backfill, FetchFull: f.FetchFull})
	}
	p, err := ingest.NewPoller(a.store, a.pipeline, ic, a.logger)
	if err != nil {
		return fmt.Errorf("%w: %v", errConfig, err)
	}
	a.poller = p
	return nil
}

// RunOnce runs one ingest and delivery cycle: poll every due feed, then deliver everything due.
func (a *app) RunOnce(ctx context.Context) error {
	if err := a.start(ctx, false); err != nil {
		return err
	}
	// Every healthy feed now, not only the due ones: `serve --once` from cron or by hand must poll.
	rep, err := a.poller.PollAll(ctx)
	if err != nil {
		return err
	}
	a.logger.Info("ingest cycle done", "polled", rep.Polled, "not_modified", rep.NotModified, "failed", rep.Failed,
		"new", rep.New, "queued", rep.Queued)
	total := 0
	for _, d := range a.dispatchers {
		n, err := d.RunOnce(ctx)
		total += n
		if err != nil {
			return err
		}
	}
	a.logger.Info("delivery cycle done", "handled", total)
	return nil
}

// Run serves until ctx ends, then shuts down: receiving and ingest stop at once, in-flight
// sends get delivery.shutdown_timeout to finish, and what did not finish is released for the next start.
func (a *app) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("api: listen on %s (api.listen): %w", a.cfg.API.Listen, err)
	}
	srv := &http.Server{Handler: a.api, ReadHeaderTimeout: 10 * time.Second}
	a.logger.Info("operator API listening", "addr", ln.Addr().String())

	if err := a.start(ctx, true); err != nil {
		ln.Close()
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	start := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(runCtx); err != nil && runCtx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	start("api", func(context.Context) error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	start("ingest", a.poller.Run)
	for i, p := range a.platforms {
		start(p.Name()+" dispatcher", a.dispatchers[i].Run)
		start(p.Name(), func(ctx context.Context) error { return a.receive(ctx, p) })
	}
	a.logger.Info("herald running", "platforms", len(a.platforms), "feeds", len(a.cfg.Ingest.Feeds), "dry_run", a.opts.dryRun)

	var runErr error
	select {
	case <-ctx.Done():
		a.logger.Info("shutting down")
	case runErr = <-errc:
		a.logger.Error("component failed, shutting down", "err", runErr)
	}
	cancel()
	grace := a.cfg.Delivery.ShutdownTimeout.Duration
	shutCtx, stop := context.WithTimeout(context.Background(), grace)
	defer stop()
	if err := srv.Shutdown(shutCtx); err != nil {
		a.logger.Warn("api shutdown", "err", err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		a.logger.Info("stopped")
	case <-time.After(grace + time.Second):
		a.logger.Warn("shutdown timed out; unfinished sends will be resent at most once on the next start")
	}
	return runErr
}

// start prepares a run: stories stored for delivery but never queued are queued, and for a
// long-lived serve, channels marked unreachable and feeds disabled by an earlier run get another
// chance (a restart is how the operator says "fixed"; one still broken is marked again).
func (a *app) start(ctx context.Context, retryBroken bool) error {
	if !retryBroken {
		// `serve --once` from cron must not undo the disabling it exists to reach.
		_, err := a.pipeline.ResumePending(ctx)
		return err
	}
	chans, err := a.store.ListChannels(ctx)
	if err != nil {
		return err
	}
	for _, c := range chans {
		if c.UnreachableAt.IsZero() {
			continue
		}
		a.logger.Warn("retrying a channel marked unreachable by an earlier run", "platform", c.Platform, "channel", c.Name,
			"since", c.UnreachableAt, "reason", c.UnreachableReason)
		if err := a.store.ClearChannelUnreachable(ctx, c.Platform, c.Name); err != nil {
			return err
		}
	}
	feeds, err := a.store.ListFeeds(ctx)
	if err != nil {
		return err
	}
	for _, f := range feeds {
		if !f.Disabled() {
			continue
		}
		a.logger.Warn("re-enabling a feed disabled by an earlier run", "feed", f.Name, "url", f.URL,
			"since", f.DisabledAt, "reason", f.DisabledReason)
		if err := a.store.EnableFeed(ctx, f.ID); err != nil {
			return err
		}
	}
	_, err = a.pipeline.ResumePending(ctx)
	return err
}

// receive runs a platform's command loop, restarting it with backoff when it fails: readers'
// commands may pause during an outage, but delivery (its own loop) never stops for it.
func (a *app) receive(ctx context.Context, p bots.Platform) error {
	wait := time.Second
	for {
		start := time.Now()
		err := p.Run(ctx, a.commands)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > 5*time.Minute {
			wait = time.Second
		}
		a.logger.Error("reader commands stopped; restarting", "platform", p.Name(), "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Minute)
	}
}

// Close releases everything the app opened.
func (a *app) Close() error {
	if a == nil {
		return nil
	}
	var errs []error
	if a.stopSample != nil {
		a.stopSample()
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	if a.tmpDir != "" {
		os.RemoveAll(a.tmpDir)
	}
	return errors.Join(errs...)
}
