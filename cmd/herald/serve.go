package main

import (
	"context"
	"flag"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run Herald: poll feeds, summarize, post to channels, DM subscribers, answer readers",
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			o.values["dry-run"] = fs.Bool("dry-run", false, "print what would be posted and DMed instead of talking to Telegram/Discord; uses a throwaway copy of the database")
			o.values["once"] = fs.Bool("once", false, "run one ingest and delivery cycle, then exit")
		},
		run: runServe,
	})
}

func runServe(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	cfg, err := e.loadConfig(o)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, e.stderr)
	a, err := newApp(ctx, cfg, logger, appOptions{dryRun: o.boolean("dry-run"), out: e.stdout})
	if err != nil {
		return err
	}
	defer a.Close()
	if o.boolean("once") {
		return a.RunOnce(ctx)
	}
	return a.Run(ctx)
}
