package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heraldnews/herald/api"
	"github.com/heraldnews/herald/bots/telegram"
	"github.com/heraldnews/herald/store"
)

func init() {
	register(&command{
		name:    "subscriptions",
		summary: "import, list, show and change subscriptions (import FILE.csv | list | show ID | set ID --status …)",
		usage: `import FILE.csv|-   (columns external_id,email,plan,status,current_period_end[,grace_until])
       herald subscriptions list [--status S] [--entitled|--not-entitled] [--search TEXT] [--limit N] [--json]
       herald subscriptions show ID [--json]
       herald subscriptions set ID [--status S] [--plan P] [--email E] [--period-end DATE] [--grace-until DATE|none] [--json]`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.BoolVar(&o.jsonOut, "json", false, "print JSON (list, show, set, import)")
		},
		run:      runSubscriptions,
		ownFlags: true,
	})
	register(&command{
		name:    "link-code",
		summary: "mint a one-time code that links a reader's chat account to a subscription",
		usage:   "SUBSCRIPTION [--platform telegram|discord] [--ttl 15m] [--json]",
		flags:   linkCodeFlags,
		run:     runLinkCode,
	})
}

// parseInterleaved parses flags that may come before, between or after positional arguments
// (`set cus_1 --status active`), which the flag package alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// subFlags is a flag set for a subcommand that also accepts the shared --config and --json after it.
func subFlags(name string, o *cmdOpts, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("herald "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&o.configPath, "config", o.configPath, "configuration `FILE`")
	fs.BoolVar(&o.jsonOut, "json", o.jsonOut, "print JSON")
	return fs
}

func openConfiguredStore(e *env, o *cmdOpts) (Config, *store.Store, error) {
	cfg, err := e.loadConfig(o)
	if err != nil {
		return cfg, nil, err
	}
	st, err := store.Open(cfg.Store.Path)
	return cfg, st, err
}

func runSubscriptions(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: import, list, show or set")
	}
	switch args[0] {
	case "import":
		return subsImport(ctx, e, o, args[1:])
	case "list":
		return subsList(ctx, e, o, args[1:])
	case "show":
		return subsShow(ctx, e, o, args[1:])
	case "set":
		return subsSet(ctx, e, o, args[1:])
	}
	return usagef("unknown subcommand %q: want import, list, show or set", args[0])
}

func subsImport(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	fs := subFlags("subscriptions import", o, e)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usagef("%v", err)
	}
	if len(pos) != 1 {
		return usagef("want exactly one CSV file (or - for standard input)")
	}
	var r io.Reader = e.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	_, st, err := openConfiguredStore(e, o)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	rep, err := st.ImportSubscriptionsCSV(ctx, r, func(rows int) {
		fmt.Fprintf(e.stderr, "\r%d rows…", rows)
	})
	if rep.Rows > 0 {
		fmt.Fprintln(e.stderr)
	}
	for _, re := range rep.Errors {
		fmt.Fprintf(e.stderr, "%s: %s\n", pos[0], re)
	}
	if rep.Invalid > len(rep.Errors) {
		fmt.Fprintf(e.stderr, "%s: … and %d more invalid rows\n", pos[0], rep.Invalid-len(rep.Errors))
	}
	if len(rep.IgnoredColumns) > 0 {
		fmt.Fprintf(e.stderr, "%s: ignored unknown columns: %s\n", pos[0], strings.Join(rep.IgnoredColumns, ", "))
	}
	if err != nil {
		return err
	}
	if o.jsonOut {
		return writeJSONLine(e.stdout, rep)
	}
	fmt.Fprintf(e.stdout, "%s in %s\n", rep.Summary(), time.Since(start).Round(time.Millisecond))
	return nil
}

func subsList(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	fs := subFlags("subscriptions list", o, e)
	status := fs.String("status", "", "only this status ("+strings.Join(store.Statuses(), ", ")+")")
	entitled := fs.Bool("entitled", false, "only subscriptions entitled now")
	notEntitled := fs.Bool("not-entitled", false, "only subscriptions not entitled now")
	search := fs.String("search", "", "only those whose external id or email contains `TEXT`")
	limit := fs.Int("limit", 100, "at most `N` subscriptions (up to 10000)")
	after := fs.Int64("after", 0, "only subscriptions with an id above `ID` (paging)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usagef("%v", err)
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *status != "" && !store.ValidStatus(*status) {
		return usagef("--status %q is not one of %s", *status, strings.Join(store.Statuses(), ", "))
	}
	if *limit < 1 || *limit > 10000 {
		return usagef("--limit %d: want 1 to 10000", *limit)
	}
	if *entitled && *notEntitled {
		return usagef("--entitled and --not-entitled exclude each other")
	}
	f := store.SubscriptionFilter{Status: *status, Search: *search, Limit: *limit, AfterID: *after}
	if *entitled || *notEntitled {
		f.Entitled = entitled
	}
	_, st, err := openConfiguredStore(e, o)
	if err != nil {
		return err
	}
	defer st.Close()
	subs, err := st.ListSubscriptions(ctx, f)
	if err != nil {
		return err
	}
	now := st.Now()
	if o.jsonOut {
		out := make([]api.SubscriptionJSON, 0, len(subs))
		for _, sub := range subs {
			links, err := st.LinksForSubscription(ctx, sub.ID)
			if err != nil {
				return err
			}
			out = append(out, api.NewSubscriptionJSON(sub, links, now))
		}
		return writeJSONLine(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEXTERNAL ID\tSTATUS\tPLAN\tPERIOD END\tENTITLED\tEMAIL")
	for _, sub := range subs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", sub.ID, sub.ExternalID, sub.Status, sub.Plan, fmtDay(sub.CurrentPeriodEnd), yesNo(sub.EntitledAt(now)), sub.Email)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(subs) > 0 && len(subs) == f.Limit {
		fmt.Fprintf(e.stderr, "more may follow: --after %d\n", subs[len(subs)-1].ID)
	}
	return nil
}

func fmtDay(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func subsShow(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	fs := subFlags("subscriptions show", o, e)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usagef("%v", err)
	}
	if len(pos) != 1 {
		return usagef("want exactly one subscription external id")
	}
	_, st, err := openConfiguredStore(e, o)
	if err != nil {
		return err
	}
	defer st.Close()
	sub, err := findSubscription(ctx, st, pos[0])
	if err != nil {
		return err
	}
	return printSubscription(ctx, e, o, st, sub)
}

func findSubscription(ctx context.Context, st *store.Store, id string) (store.Subscription, error) {
	sub, err := st.GetSubscription(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return sub, fmt.Errorf("no subscription with external id %q", id)
	}
	return sub, err
}

func printSubscription(ctx context.Context, e *env, o *cmdOpts, st *store.Store, sub store.Subscription) error {
	links, err := st.LinksForSubscription(ctx, sub.ID)
	if err != nil {
		return err
	}
	now := st.Now()
	if o.jsonOut {
		return writeJSONLine(e.stdout, api.NewSubscriptionJSON(sub, links, now))
	}
	w := e.stdout
	fmt.Fprintf(w, "external id   %s (id %d)\n", sub.ExternalID, sub.ID)
	fmt.Fprintf(w, "email         %s\n", sub.Email)
	fmt.Fprintf(w, "plan          %s\n", sub.Plan)
	fmt.Fprintf(w, "status        %s\n", sub.Status)
	fmt.Fprintf(w, "period end    %s\n", fmtTime(sub.CurrentPeriodEnd))
	fmt.Fprintf(w, "grace until   %s\n", fmtTime(sub.GraceUntil))
	if sub.EntitledAt(now) {
		fmt.Fprintf(w, "entitled      yes, until %s\n", fmtTime(sub.EntitledUntil()))
	} else {
		fmt.Fprintf(w, "entitled      no\n")
	}
	fmt.Fprintf(w, "updated       %s\n", fmtTime(sub.UpdatedAt))
	if len(links) == 0 {
		fmt.Fprintf(w, "links         none\n")
	}
	for _, l := range links {
		state := "DMs on"
		if l.Paused {
			state = "DMs paused"
		}
		if !l.Reachable() {
			state += ", unreachable since " + fmtTime(l.UnreachableAt) + ": " + l.UnreachableReason
		}
		fmt.Fprintf(w, "link          %s user %s (%s; linked %s)\n", l.Platform, l.UserID, state, fmtTime(l.CreatedAt))
	}
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func subsSet(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	fs := subFlags("subscriptions set", o, e)
	status := fs.String("status", "", "new status ("+strings.Join(store.Statuses(), ", ")+")")
	plan := fs.String("plan", "", "new plan name")
	email := fs.String("email", "", "new email")
	periodEnd := fs.String("period-end", "", "new current period end: RFC 3339 or YYYY-MM-DD (midnight UTC)")
	grace := fs.String("grace-until", "", `new grace end: RFC 3339, YYYY-MM-DD, or "none" to clear`)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usagef("%v", err)
	}
	if len(pos) != 1 {
		return usagef("want exactly one subscription external id")
	}
	var p store.SubscriptionPatch
	var changed bool
	var perr error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "status":
			p.Status, changed = status, true
		case "plan":
			p.Plan, changed = plan, true
		case "email":
			p.Email, changed = email, true
		case "period-end":
			t, err := store.ParseDate(*periodEnd)
			if err != nil {
				perr = usagef("--period-end: %v", err)
			}
			p.CurrentPeriodEnd, changed = &t, true
		case "grace-until":
			var t time.Time
			if v := strings.ToLower(strings.TrimSpace(*grace)); v != "none" && v != "" {
				if t, err = store.ParseDate(v); err != nil {
					perr = usagef("--grace-until: %v", err)
				}
			}
			p.GraceUntil, changed = &t, true
		}
	})
	if perr != nil {
		return perr
	}
	if !changed {
		return usagef("nothing to change: give --status, --plan, --email, --period-end or --grace-until")
	}
	_, st, err := openConfiguredStore(e, o)
	if err != nil {
		return err
	}
	defer st.Close()
	sub, err := st.SetSubscription(ctx, pos[0], p)
	var fe *store.FieldError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no subscription with external id %q (create it with `subscriptions import` or the API)", pos[0])
	case errors.As(err, &fe):
		return usagef("%s %s", strings.ReplaceAll(fe.Field, "_", "-"), fe.Reason)
	case err != nil:
		return err
	}
	return printSubscription(ctx, e, o, st, sub)
}

func linkCodeFlags(fs *flag.FlagSet, o *cmdOpts) {
	fs.BoolVar(&o.jsonOut, "json", o.jsonOut, "print one JSON object {code, platform, expires_at, telegram_url}")
	p, _ := o.values["platform"].(*string)
	if p == nil {
		p = new(string)
		o.values["platform"] = p
	}
	fs.StringVar(p, "platform", *p, "where the code may be redeemed: telegram, discord, or empty for either")
	d, _ := o.values["ttl"].(*time.Duration)
	if d == nil {
		d = new(time.Duration)
		o.values["ttl"] = d
	}
	fs.DurationVar(d, "ttl", *d, "how long the code is valid (default [links] code_ttl, 15m)")
}

// LinkCodeOutput is what `herald link-code --json` prints.
type LinkCodeOutput struct {
	Subscription string    `json:"subscription"`
	Code         string    `json:"code"`
	Platform     string    `json:"platform,omitempty"`
	ExpiresAt    time.Time `json:"expires_at"`
	TelegramURL  string    `json:"telegram_url,omitempty"`
}

// telegramUsername is the bot's username for deep links: [telegram] bot_username, else what the
// Bot API says (getMe) when a token is configured; "" when neither works.
func telegramUsername(ctx context.Context, e *env, cfg Config) string {
	if bot := strings.TrimPrefix(strings.TrimSpace(cfg.Telegram.BotUsername), "@"); bot != "" {
		return bot
	}
	if cfg.Telegram.Token == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	bot, err := telegram.LookupUsername(ctx, telegram.Config{Token: cfg.Telegram.Token, APIURL: cfg.Telegram.APIURL})
	if err != nil {
		fmt.Fprintf(e.stderr, "herald: no Telegram deep link: %v\n", err)
		return ""
	}
	return bot
}

func runLinkCode(ctx context.Context, e *env, o *cmdOpts, args []string) error {
	fs := flag.NewFlagSet("herald link-code", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&o.configPath, "config", o.configPath, "configuration `FILE`")
	linkCodeFlags(fs, o)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usagef("%v", err)
	}
	if len(pos) != 1 {
		return usagef("want exactly one subscription external id")
	}
	platform := strings.ToLower(strings.TrimSpace(*o.values["platform"].(*string)))
	if !store.ValidLinkPlatform(platform) {
		return usagef("--platform %q: want telegram, discord or nothing for either", platform)
	}
	cfg, st, err := openConfiguredStore(e, o)
	if err != nil {
		return err
	}
	defer st.Close()
	ttl := *o.values["ttl"].(*time.Duration)
	if ttl == 0 {
		ttl = cfg.Links.CodeTTL.Duration
	}
	if ttl < 0 || ttl > store.MaxLinkCodeTTL {
		return usagef("--ttl %s: want a duration up to %s", ttl, store.MaxLinkCodeTTL)
	}
	sub, err := findSubscription(ctx, st, pos[0])
	if err != nil {
		return err
	}
	code, expires, err := st.MintLinkCode(ctx, sub.ID, platform, ttl)
	if err != nil {
		return err
	}
	out := LinkCodeOutput{Subscription: sub.ExternalID, Code: store.FormatLinkCode(code), Platform: platform, ExpiresAt: expires}
	if bot := telegramUsername(ctx, e, cfg); bot != "" && platform != "discord" {
		out.TelegramURL = "https://t.me/" + bot + "?start=" + code
	}
	if o.jsonOut {
		return writeJSONLine(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "code          %s\n", out.Code)
	fmt.Fprintf(e.stdout, "expires       %s (in %s)\n", fmtTime(expires), time.Until(expires).Round(time.Second))
	if out.TelegramURL != "" {
		fmt.Fprintf(e.stdout, "telegram link %s\n", out.TelegramURL)
	} else if platform != "discord" {
		fmt.Fprintf(e.stdout, "telegram link (set [telegram] bot_username or a token to print the t.me deep link)\n")
	}
	how := "/link " + out.Code
	if platform == "" {
		fmt.Fprintf(e.stdout, "the reader sends %s to the bot in a private chat (Telegram) or as a slash command (Discord)\n", how)
	} else {
		fmt.Fprintf(e.stdout, "the reader sends %s to the %s bot privately\n", how, platform)
	}
	return nil
}
