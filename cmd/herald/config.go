package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is Herald's whole configuration; config.example.toml documents every key.
type Config struct {
	Store     StoreConfig     `toml:"store"`
	Ingest    IngestConfig    `toml:"ingest"`
	Summarize SummarizeConfig `toml:"summarize"`
	Telegram  TelegramConfig  `toml:"telegram"`
	Discord   DiscordConfig   `toml:"discord"`
	Delivery  DeliveryConfig  `toml:"delivery"`
	Links     LinksConfig     `toml:"links"`
	API       APIConfig       `toml:"api"`
	Log       LogConfig       `toml:"log"`

	// source is the file the config came from, "" for built-in defaults.
	source string
}

// StoreConfig is the [store] section.
type StoreConfig struct {
	Path string `toml:"path"`
}

// IngestConfig is the [ingest] section.
type IngestConfig struct {
	Concurrency  int          `toml:"concurrency"`
	Timeout      Duration     `toml:"timeout"`
	MaxBodyBytes int64        `toml:"max_body_bytes"`
	DisableAfter int          `toml:"disable_after"`
	Interval     Duration     `toml:"interval"`
	Feeds        []FeedConfig `toml:"feeds"`
}

// FeedConfig is one [[ingest.feeds]] entry.
type FeedConfig struct {
	URL          string            `toml:"url"`
	Name         string            `toml:"name"`
	Interval     Duration          `toml:"interval"`
	Headers      map[string]string `toml:"headers"`
	DropPatterns []string          `toml:"drop_patterns"`
	Backfill     *int              `toml:"backfill"`
	FetchFull    bool              `toml:"fetch_full"`
}

// SummarizeConfig is the [summarize] section.
type SummarizeConfig struct {
	Backend      string   `toml:"backend"`
	Model        string   `toml:"model"`
	BaseURL      string   `toml:"base_url"`
	APIKey       string   `toml:"api_key"`
	Timeout      Duration `toml:"timeout"`
	MaxSentences int      `toml:"max_sentences"`
	MaxChars     int      `toml:"max_chars"`
	InputTokens  int      `toml:"input_tokens"`
	MaxRetries   int      `toml:"max_retries"`
}

// TelegramConfig is the [telegram] section.
type TelegramConfig struct {
	Token            string   `toml:"token"`
	APIURL           string   `toml:"api_url"`
	BotUsername      string   `toml:"bot_username"`
	Channels         []string `toml:"channels"`
	PollTimeout      Duration `toml:"poll_timeout"`
	WebhookURL       string   `toml:"webhook_url"`
	WebhookSecret    string   `toml:"webhook_secret"`
	GlobalRate       float64  `toml:"global_rate"`
	ChatRate         float64  `toml:"chat_rate"`
	ChatBurst        int      `toml:"chat_burst"`
	ChannelPerMinute float64  `toml:"channel_per_minute"`
}

// DiscordConfig is the [discord] section.
type DiscordConfig struct {
	Token            string   `toml:"token"`
	APIURL           string   `toml:"api_url"`
	ApplicationID    string   `toml:"application_id"`
	GuildID          string   `toml:"guild_id"`
	Channels         []string `toml:"channels"`
	GlobalRate       float64  `toml:"global_rate"`
	ChannelPerSecond float64  `toml:"channel_per_second"`
}

// DeliveryConfig is the [delivery] section.
type DeliveryConfig struct {
	Concurrency     int      `toml:"concurrency"`
	MaxAttempts     int      `toml:"max_attempts"`
	PollInterval    Duration `toml:"poll_interval"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
}

// LinksConfig is the [links] section: account linking and what readers are told.
type LinksConfig struct {
	SubscribeURL  string   `toml:"subscribe_url"`
	SiteName      string   `toml:"site_name"`
	CodeTTL       Duration `toml:"code_ttl"`
	MaxAttempts   int      `toml:"max_attempts"`
	AttemptWindow Duration `toml:"attempt_window"`
}

// APIConfig is the [api] section.
type APIConfig struct {
	Listen string `toml:"listen"`
	Token  string `toml:"token"`
}

// LogConfig is the [log] section.
type LogConfig struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// Duration is a time.Duration written as "90s" or "15m" in TOML.
type Duration struct {
	time.Duration
	// env holds a value that refers to ${VAR}; it is parsed once the environment is expanded.
	env string
}

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	if envRef.Match(b) {
		d.env = string(b)
		return nil
	}
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use a form like \"90s\", \"15m\", \"1h\")", s)
	}
	return v, nil
}

// MarshalText writes the duration in Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func dur(d time.Duration) Duration { return Duration{Duration: d} }

// DefaultConfig is the configuration Herald runs with when no file is given.
func DefaultConfig() Config {
	return Config{
		Store:  StoreConfig{Path: "herald.db"},
		Ingest: IngestConfig{Concurrency: 4, Timeout: dur(30 * time.Second), MaxBodyBytes: 10 << 20, DisableAfter: 10, Interval: dur(10 * time.Minute)},
		Summarize: SummarizeConfig{Backend: "extractive", Model: "gpt-4o-mini", BaseURL: "https://api.openai.com/v1",
			Timeout: dur(60 * time.Second), MaxSentences: 3, MaxChars: 600, InputTokens: 3000, MaxRetries: 3},
		Telegram: TelegramConfig{APIURL: "https://api.telegram.org", PollTimeout: dur(30 * time.Second),
			GlobalRate: 30, ChatRate: 1, ChatBurst: 3, ChannelPerMinute: 20},
		Discord:  DiscordConfig{APIURL: "https://discord.com/api/v9/", GlobalRate: 45, ChannelPerSecond: 1},
		Delivery: DeliveryConfig{Concurrency: 8, MaxAttempts: 8, PollInterval: dur(time.Second), ShutdownTimeout: dur(5 * time.Second)},
		Links:    LinksConfig{CodeTTL: dur(15 * time.Minute), MaxAttempts: 5, AttemptWindow: dur(15 * time.Minute)},
		API:      APIConfig{Listen: "127.0.0.1:8080"},
		Log:      LogConfig{Level: "info", Format: "text"},
	}
}

// errConfig marks configuration errors, which exit with status 2.
var errConfig = errors.New("config")

func configErr(source, format string, args ...any) error {
	where := source
	if where == "" {
		where = "built-in defaults"
	}
	return fmt.Errorf("%w: %s: %s", errConfig, where, fmt.Sprintf(format, args...))
}

// LoadConfig reads path, or herald.toml in the working directory when path is empty and it exists,
// else returns the defaults. Secrets from HERALD_* environment variables override the file.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	cfg := DefaultConfig()
	explicit := path != ""
	if !explicit {
		if _, err := os.Stat("herald.toml"); err == nil {
			path = "herald.toml"
		}
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			if !explicit && errors.Is(err, os.ErrNotExist) {
				path = ""
			} else {
				return cfg, fmt.Errorf("%w: read %s: %v", errConfig, path, err)
			}
		}
		if path != "" {
			if err := parseConfig(&cfg, path, data, getenv); err != nil {
				return cfg, err
			}
		}
	}
	cfg.source = path
	for env, dst := range map[string]*string{
		"HERALD_TELEGRAM_TOKEN": &cfg.Telegram.Token,
		"HERALD_DISCORD_TOKEN":  &cfg.Discord.Token,
		"HERALD_OPENAI_API_KEY": &cfg.Summarize.APIKey,
		"HERALD_API_TOKEN":      &cfg.API.Token,
	} {
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	if err := cfg.validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func parseConfig(cfg *Config, path string, data []byte, getenv func(string) string) error {
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" && !strings.Contains(pe.Message, pe.LastKey) {
				return fmt.Errorf("%w: %s: line %d: %s: %s", errConfig, path, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return fmt.Errorf("%w: %s: line %d: %s", errConfig, path, pe.Position.Line, pe.Message)
		}
		return fmt.Errorf("%w: %s: %v", errConfig, path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("%w: %s: unknown key %s", errConfig, path, strings.Join(keys, ", "))
	}
	return expandEnv(reflect.ValueOf(cfg).Elem(), "", path, getenv)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} in every string value; only the braced form is expanded
// so that regular expressions in drop_patterns keep their '$' anchors.
func expandEnv(v reflect.Value, key, path string, getenv func(string) string) error {
	expand := func(s, key string) (string, error) {
		var missing string
		out := envRef.ReplaceAllStringFunc(s, func(m string) string {
			name := envRef.FindStringSubmatch(m)[1]
			val := getenv(name)
			if val == "" && missing == "" {
				missing = name
			}
			return val
		})
		if missing != "" {
			return "", fmt.Errorf("%w: %s: %s refers to ${%s}, which is not set in the environment", errConfig, path, key, missing)
		}
		return out, nil
	}
	switch v.Kind() {
	case reflect.String:
		s, err := expand(v.String(), key)
		if err != nil {
			return err
		}
		v.SetString(s)
	case reflect.Struct:
		if d, ok := v.Addr().Interface().(*Duration); ok {
			if d.env == "" {
				return nil
			}
			s, err := expand(d.env, key)
			if err != nil {
				return err
			}
			if d.Duration, err = parseDuration(s); err != nil {
				return fmt.Errorf("%w: %s: %s: %v", errConfig, path, key, err)
			}
			d.env = ""
			return nil
		}
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Tag.Get("toml")
			if name == "" {
				continue
			}
			if err := expandEnv(v.Field(i), joinKey(key, name), path, getenv); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := expandEnv(v.Index(i), fmt.Sprintf("%s[%d]", key, i), path, getenv); err != nil {
				return err
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			if e.Kind() != reflect.String {
				continue
			}
			s, err := expand(e.String(), joinKey(key, k.String()))
			if err != nil {
				return err
			}
			v.SetMapIndex(k, reflect.ValueOf(s))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			return expandEnv(v.Elem(), key, path, getenv)
		}
	}
	return nil
}

func joinKey(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func (c *Config) validate() error {
	bad := func(key, format string, args ...any) error {
		return configErr(c.source, "%s: %s", key, fmt.Sprintf(format, args...))
	}
	if c.Store.Path == "" {
		return bad("store.path", "must not be empty")
	}
	if c.Ingest.Concurrency < 1 {
		return bad("ingest.concurrency", "must be at least 1, got %d", c.Ingest.Concurrency)
	}
	if c.Ingest.MaxBodyBytes < 1024 {
		return bad("ingest.max_body_bytes", "must be at least 1024, got %d", c.Ingest.MaxBodyBytes)
	}
	if c.Ingest.DisableAfter < 1 {
		return bad("ingest.disable_after", "must be at least 1, got %d", c.Ingest.DisableAfter)
	}
	if c.Ingest.Timeout.Duration <= 0 {
		return bad("ingest.timeout", "must be positive")
	}
	if c.Ingest.Interval.Duration < time.Second {
		return bad("ingest.interval", "must be at least 1s")
	}
	seen := map[string]bool{}
	for i := range c.Ingest.Feeds {
		f := &c.Ingest.Feeds[i]
		key := fmt.Sprintf("ingest.feeds[%d]", i)
		if err := checkURL(f.URL); err != nil {
			return bad(key+".url", "%v", err)
		}
		if seen[f.URL] {
			return bad(key+".url", "%s is listed twice", f.URL)
		}
		seen[f.URL] = true
		if f.Interval.Duration == 0 {
			f.Interval = c.Ingest.Interval
		} else if f.Interval.Duration < time.Second {
			return bad(key+".interval", "must be at least 1s")
		}
		if f.Backfill == nil {
			one := 1
			f.Backfill = &one
		} else if *f.Backfill < 0 {
			return bad(key+".backfill", "must not be negative")
		}
		for j, p := range f.DropPatterns {
			if _, err := regexp.Compile(p); err != nil {
				return bad(fmt.Sprintf("%s.drop_patterns[%d]", key, j), "invalid regular expression: %v", err)
			}
		}
	}
	switch c.Summarize.Backend {
	case "extractive":
	case "openai":
		if c.Summarize.Model == "" {
			return bad("summarize.model", "is required for backend \"openai\"")
		}
		if err := checkURL(c.Summarize.BaseURL); err != nil {
			return bad("summarize.base_url", "%v", err)
		}
	default:
		return bad("summarize.backend", "must be \"extractive\" or \"openai\", got %q", c.Summarize.Backend)
	}
	if c.Summarize.MaxSentences < 1 || c.Summarize.MaxChars < 80 {
		return bad("summarize.max_sentences", "budget too small: max_sentences ≥ 1 and max_chars ≥ 80")
	}
	if c.Summarize.InputTokens < 100 {
		return bad("summarize.input_tokens", "must be at least 100")
	}
	if c.Summarize.Timeout.Duration <= 0 {
		return bad("summarize.timeout", "must be positive")
	}
	if err := checkURL(c.Telegram.APIURL); err != nil {
		return bad("telegram.api_url", "%v", err)
	}
	if c.Telegram.WebhookURL != "" {
		if err := checkURL(c.Telegram.WebhookURL); err != nil {
			return bad("telegram.webhook_url", "%v", err)
		}
	}
	if c.Telegram.GlobalRate <= 0 || c.Telegram.ChatRate <= 0 || c.Telegram.ChannelPerMinute <= 0 || c.Telegram.ChatBurst < 1 {
		return bad("telegram.global_rate", "rates must be positive (global_rate, chat_rate, channel_per_minute) and chat_burst ≥ 1")
	}
	if err := checkURL(c.Discord.APIURL); err != nil {
		return bad("discord.api_url", "%v", err)
	}
	if c.Discord.GlobalRate <= 0 || c.Discord.ChannelPerSecond <= 0 {
		return bad("discord.global_rate", "rates must be positive (global_rate, channel_per_second)")
	}
	if c.Delivery.Concurrency < 1 {
		return bad("delivery.concurrency", "must be at least 1")
	}
	if c.Delivery.MaxAttempts < 1 {
		return bad("delivery.max_attempts", "must be at least 1")
	}
	if c.Delivery.PollInterval.Duration <= 0 {
		return bad("delivery.poll_interval", "must be positive")
	}
	if c.Delivery.ShutdownTimeout.Duration <= 0 {
		return bad("delivery.shutdown_timeout", "must be positive")
	}
	if c.Links.SubscribeURL != "" {
		if err := checkURL(c.Links.SubscribeURL); err != nil {
			return bad("links.subscribe_url", "%v", err)
		}
	}
	if c.Links.CodeTTL.Duration < time.Minute {
		return bad("links.code_ttl", "must be at least 1m")
	}
	if c.Links.MaxAttempts < 1 || c.Links.AttemptWindow.Duration <= 0 {
		return bad("links.max_attempts", "max_attempts ≥ 1 and attempt_window > 0 are required")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}
