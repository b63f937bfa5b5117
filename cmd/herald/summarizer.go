package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/heraldnews/herald/ingest"
	"github.com/heraldnews/herald/store"
	"github.com/heraldnews/herald/summarize"
	"github.com/heraldnews/herald/summarize/openai"
)

// buildSummarizer makes the configured summarizer: the extractive one, or a model with the
// extractive one as fallback. Each backend caches by its own settings key when cache is set.
// check verifies the model once (nil for the extractive backend).
func buildSummarizer(cfg SummarizeConfig, cache summarize.Cache, logger *slog.Logger) (s summarize.Summarizer, check func(context.Context) error, err error) {
	ext := summarize.NewExtractive(summarize.Options{MaxSentences: cfg.MaxSentences, MaxChars: cfg.MaxChars})
	var base summarize.Summarizer = ext
	if cache != nil {
		base = summarize.WithCache(ext, cache, ext.SettingsKey())
	}
	if cfg.Backend != "openai" {
		return base, nil, nil
	}
	m, err := openai.New(openai.Config{
		BaseURL: cfg.BaseURL, APIKey: cfg.APIKey, Model: cfg.Model, Timeout: cfg.Timeout.Duration,
		InputTokenBudget: cfg.InputTokens, MaxSentences: cfg.MaxSentences, MaxChars: cfg.MaxChars, MaxRetries: cfg.MaxRetries,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: summarize: %v", errConfig, err)
	}
	var model summarize.Summarizer = m
	if cache != nil {
		model = summarize.WithCache(m, cache, m.SettingsKey())
	}
	check = func(ctx context.Context) error {
		err := m.Check(ctx)
		if errors.Is(err, openai.ErrUnauthorized) || errors.Is(err, openai.ErrModelNotFound) {
			return fmt.Errorf("%w: summarize (backend openai, model %q, base_url %s): %v", errConfig, cfg.Model, redactedURL(cfg.BaseURL), err)
		}
		return err
	}
	return summarize.WithFallback(model, base, logger.With("component", "summarize")), check, nil
}

// checkModel runs the model check, if any: a rejected key or an unknown model is a
// configuration error (exit 2) as in `herald serve`; a model that does not answer only
// warns, because the extractive summarizer stands in for it.
func checkModel(ctx context.Context, check func(context.Context) error, logger *slog.Logger) error {
	if check == nil {
		return nil
	}
	if err := check(ctx); err != nil {
		if errors.Is(err, errConfig) {
			return err
		}
		logger.Warn("model check failed; the extractive summarizer will stand in", "err", err)
	}
	return nil
}

func init() {
	register(&command{
		name:    "summarize",
		summary: "print the summary of an article (HTML page, text file, URL, or - for stdin)",
		usage:   "[--backend extractive|openai] [--json] FILE|URL|-",
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			o.values["backend"] = fs.String("backend", "", "summarizer backend; default: summarize.backend from the config")
			fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object with the summary and which summarizer made it")
		},
		run: runSummarize,
	})
}

func runSummarize(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	cfg, logger, err := e.articleCommand(o, args)
	if err != nil {
		return err
	}
	if b := o.str("backend"); b != "" {
		if b != "extractive" && b != "openai" {
			return usagef("--backend %q: want extractive or openai", b)
		}
		cfg.Summarize.Backend = b
		if err := cfg.validate(); err != nil {
			return err
		}
	}
	pipe, err := offlinePipeline(ctx, cfg, logger)
	if err != nil {
		return err
	}
	inputs, err := loadInputs(ctx, pipe, e, args[0], cfg.Ingest.MaxBodyBytes)
	if err != nil {
		return err
	}
	for i, in := range inputs {
		st, err := pipe.Prepare(ctx, in)
		if err != nil {
			return err
		}
		s, err := pipe.Summarize(ctx, st)
		if err != nil {
			return fmt.Errorf("%s: %w", titleOr(st), err)
		}
		if o.jsonOut {
			if err := writeJSONLine(e.stdout, map[string]any{"title": st.Title, "summary": s.Text, "summarizer": s.Summarizer, "model": s.Model}); err != nil {
				return err
			}
			continue
		}
		if len(inputs) > 1 {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			fmt.Fprintf(e.stdout, "# %s\n", titleOr(st))
		}
		fmt.Fprintln(e.stdout, s.Text)
		by := s.Summarizer
		if s.Model != "" {
			by += " (" + s.Model + ")"
		}
		fmt.Fprintf(e.stderr, "summarizer: %s\n", by)
	}
	return nil
}

// offlinePipeline is the pipeline of preview and summarize: no database, no queue and no
// summary cache, since neither command may write; the configured model is checked first so
// a rejected key or unknown model fails like serve does.
func offlinePipeline(ctx context.Context, cfg Config, logger *slog.Logger) (*ingest.Pipeline, error) {
	sum, check, err := buildSummarizer(cfg.Summarize, nil, logger)
	if err != nil {
		return nil, err
	}
	if err := checkModel(ctx, check, logger); err != nil {
		return nil, err
	}
	return ingest.NewPipeline(nil, sum, nil, ingest.PipelineOptions{Logger: logger, HTTP: httpOptions(cfg)}), nil
}

// loadInputs reads FILE, URL or "-" (standard input) into pipeline inputs.
func loadInputs(ctx context.Context, pipe *ingest.Pipeline, e *env, src string, maxBytes int64) ([]ingest.Input, error) {
	if src != "-" {
		return pipe.Load(ctx, src)
	}
	data, err := io.ReadAll(io.LimitReader(e.stdin, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	return pipe.LoadData("standard input", data)
}

func titleOr(st store.Story) string {
	if strings.TrimSpace(st.Title) != "" {
		return st.Title
	}
	return "(untitled)"
}

func httpOptions(cfg Config) ingest.HTTPOptions {
	return ingest.HTTPOptions{UserAgent: "Herald/" + version + " (+https://github.com/heraldnews/herald)",
		Timeout: cfg.Ingest.Timeout.Duration, MaxBodyBytes: cfg.Ingest.MaxBodyBytes}
}

// redactedURL drops credentials and the query from u, which may carry keys, for messages.
func redactedURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User = nil
	p.RawQuery = ""
	return p.String()
}
