package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/heraldnews/herald/store"
)

func init() {
	register(&command{
		name:    "stats",
		summary: "show counts of stories, feeds, subscriptions, links and deliveries",
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object")
		},
		run: runStats,
	})
}

func runStats(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	cfg, err := e.loadConfig(o)
	if err != nil {
		return err
	}
	st, err := store.Open(cfg.Store.Path)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	if o.jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	printStats(e.stdout, cfg.Store.Path, s)
	return nil
}

func printStats(w io.Writer, path string, s store.Stats) {
	fmt.Fprintf(w, "database       %s (schema %d)\n", path, s.SchemaVersion)
	fmt.Fprintf(w, "stories        %d (%d without extracted text)\n", s.Stories, s.StoriesNoText)
	fmt.Fprintf(w, "feeds          %d (%d failing, %d disabled)\n", s.Feeds, s.FeedsFailing, s.FeedsDisabled)
	for _, f := range s.FailingFeeds {
		state := fmt.Sprintf("failing (%d in a row)", f.Failures)
		if f.Disabled {
			state = "DISABLED" // until the next `herald serve` start
		}
		fmt.Fprintf(w, "  %-12s %s %s: %s\n", state, f.Name, f.URL, f.Error)
	}
	fmt.Fprintf(w, "subscriptions  %d (%d entitled now)\n", s.Subscriptions, s.SubscriptionsEntitled)
	fmt.Fprintf(w, "links          %d (%d unreachable, %d paused)\n", s.Links, s.LinksUnreachable, s.LinksPaused)
	if s.ChannelsUnreachable > 0 {
		fmt.Fprintf(w, "channels       %d unreachable (retried at the next start)\n", s.ChannelsUnreachable)
	}
	for _, c := range s.UnreachableChannels {
		fmt.Fprintf(w, "  %-9s %s since %s: %s\n", c.Platform, c.Name, c.Since.Format(time.RFC3339), c.Reason)
	}
	fmt.Fprintf(w, "summaries      %d cached (tokens: %d prompt, %d completion)\n", s.SummariesCached, s.SummaryPromptTokens, s.SummaryCompletionTokens)
	platforms := make([]string, 0, len(s.Deliveries))
	for p := range s.Deliveries {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	if len(platforms) == 0 {
		fmt.Fprintln(w, "deliveries     none")
	}
	for _, p := range platforms {
		d := s.Deliveries[p]
		fmt.Fprintf(w, "deliveries     %-9s pending %d, sending %d, sent %d, skipped %d, failed %d\n",
			p, d["pending"], d["sending"], d["sent"], d["skipped"], d["failed"])
	}
	if s.OldestPendingMS > 0 {
		fmt.Fprintf(w, "oldest pending %s\n", (time.Duration(s.OldestPendingMS) * time.Millisecond).Round(time.Second))
	}
}
