// Command herald distributes a newsroom's stories through Telegram and Discord bots.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// command is one `herald` subcommand; each lives in its own file and registers itself in init.
type command struct {
	name    string
	summary string
	// usage is the argument synopsis shown after the name, e.g. "[--json] FILE|URL".
	usage string
	// flags adds the command's flags to fs; may be nil.
	flags func(fs *flag.FlagSet, o *cmdOpts)
	run   func(ctx context.Context, e *env, o *cmdOpts, args []string) error
	// ownFlags: the command parses flags after its first argument itself (subcommands with their own flags).
	ownFlags bool
}

// cmdOpts holds the values of flags shared by several commands plus each command's own.
type cmdOpts struct {
	configPath string
	jsonOut    bool
	values     map[string]any // per-command flag values by name
}

// str returns the string flag name of the command.
func (o *cmdOpts) str(name string) string { return *(o.values[name].(*string)) }

// boolean returns the bool flag name of the command.
func (o *cmdOpts) boolean(name string) bool { return *(o.values[name].(*bool)) }

// env is the process environment a command runs in; tests build their own.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts the orderly shutdown, a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	code := Main(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// Main runs herald with args (without the program name) and returns the exit status.
func Main(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				printCommandHelp(e.stdout, c)
				return exitOK
			}
		}
		printHelp(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		args[0] = "version"
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "herald: unknown command %q\n\n", args[0])
		printHelp(e.stderr)
		return exitUsage
	}
	o := &cmdOpts{values: map[string]any{}}
	fs := newFlagSet(c, o, e.stderr)
	var rest []string
	var err error
	if c.ownFlags {
		err = fs.Parse(args[1:])
		rest = fs.Args()
	} else {
		// `herald preview page.html --json` is as natural as the flags-first form.
		rest, err = parseInterleaved(fs, args[1:])
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(e.stdout, c)
			return exitOK
		}
		fmt.Fprintf(e.stderr, "Run 'herald %s --help' for usage.\n", c.name)
		return exitUsage
	}
	err = c.run(ctx, e, o, rest)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "herald %s: %s\nRun 'herald %s --help' for usage.\n", c.name, ue.msg, c.name)
		return exitUsage
	case errors.Is(err, errConfig):
		fmt.Fprintf(e.stderr, "herald: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "herald %s: %v\n", c.name, err)
		return exitFailure
	}
}

func newFlagSet(c *command, o *cmdOpts, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("herald "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.configPath, "config", "", "configuration `FILE` (default: ./herald.toml if present, else built-in defaults)")
	if c.flags != nil {
		c.flags(fs, o)
	}
	// Parse errors are reported by the flag package itself; full help goes to stdout on --help only.
	fs.Usage = func() {}
	return fs
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `Herald distributes a newsroom's stories through Telegram and Discord bots:
summaries to channels, full articles by DM to linked subscribers.

Usage: herald <command> [flags] [arguments]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
Run 'herald <command> --help' for a command's flags.
First time? 'herald serve --dry-run --once' shows what Herald would post, with no tokens needed.
`)
}

func printCommandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: herald %s [flags] %s\n\n%s\n\nFlags:\n", c.name, c.usage, c.summary)
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(w)
	o := &cmdOpts{values: map[string]any{}}
	fs.StringVar(&o.configPath, "config", "", "configuration `FILE` (default: ./herald.toml if present, else built-in defaults)")
	if c.flags != nil {
		c.flags(fs, o)
	}
	fs.PrintDefaults()
}

// loadConfig loads the configuration named by --config.
func (e *env) loadConfig(o *cmdOpts) (Config, error) {
	return LoadConfig(o.configPath, e.getenv)
}

// articleCommand checks the one FILE|URL|- argument of ingest, preview and summarize and loads
// the configuration and logger they share.
func (e *env) articleCommand(o *cmdOpts, args []string) (Config, *slog.Logger, error) {
	if len(args) != 1 {
		return Config{}, nil, usagef("want exactly one FILE, URL or - (standard input)")
	}
	cfg, err := e.loadConfig(o)
	if err != nil {
		return Config{}, nil, err
	}
	return cfg, newLogger(cfg.Log, e.stderr), nil
}

// newLogger builds the process logger from [log]; logs go to stderr.
func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.Level)))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
