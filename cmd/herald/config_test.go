package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "herald.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestExampleConfigMatchesDefaults(t *testing.T) {
	cfg, err := LoadConfig("../../config.example.toml", envMap(nil))
	if err != nil {
		t.Fatalf("config.example.toml: %v", err)
	}
	want := DefaultConfig()
	want.source = cfg.source
	// Compare printed forms: the file's `channels = []` decodes to an empty slice, the default is nil.
	if fmt.Sprintf("%+v", cfg) != fmt.Sprintf("%+v", want) {
		t.Errorf("config.example.toml does not document the defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		env     map[string]string
		wantErr string // substring; "" means success
		check   func(t *testing.T, c Config)
	}{
		{name: "empty file gives defaults", body: "", check: func(t *testing.T, c Config) {
			if c.Store.Path != "herald.db" || c.Summarize.Backend != "extractive" {
				t.Errorf("defaults not applied: %+v", c)
			}
		}},
		{name: "unknown key names key and file", body: "[store]\npaht = 'x.db'\n", wantErr: "unknown key store.paht"},
		{name: "unknown section", body: "[telegramm]\ntoken = 'x'\n", wantErr: "unknown key telegramm"},
		{name: "bad duration names the key", body: "[ingest]\ntimeout = 'soon'\n", wantErr: `ingest.timeout: invalid duration "soon"`},
		{name: "bad feed duration names the key", body: "[[ingest.feeds]]\nurl = 'https://a.example/f'\ninterval = '5 minutes'\n", wantErr: "ingest.feeds.interval: invalid duration"},
		{name: "wrong type names the key", body: "[ingest]\nconcurrency = 'four'\n", wantErr: "ingest.concurrency"},
		{name: "env var in a duration", body: "[ingest]\ntimeout = '${T}'\n", env: map[string]string{"T": "7s"}, check: func(t *testing.T, c Config) {
			if c.Ingest.Timeout.Duration != 7*time.Second {
				t.Errorf("ingest.timeout = %v, want 7s", c.Ingest.Timeout)
			}
		}},
		{name: "env var in a duration expands to a bad value", body: "[ingest]\ntimeout = '${T}'\n", env: map[string]string{"T": "soon"}, wantErr: `ingest.timeout: invalid duration "soon"`},
		{name: "unset env var in a duration", body: "[delivery]\nshutdown_timeout = '${T}'\n", wantErr: "delivery.shutdown_timeout refers to ${T}"},
		{name: "bad backend", body: "[summarize]\nbackend = 'magic'\n", wantErr: "summarize.backend"},
		{name: "bad feed url", body: "[[ingest.feeds]]\nurl = 'ftp://x'\n", wantErr: "ingest.feeds[0].url"},
		{name: "bad drop pattern", body: "[[ingest.feeds]]\nurl = 'https://a.example/f'\ndrop_patterns = ['(']\n", wantErr: "ingest.feeds[0].drop_patterns[0]"},
		{name: "feed defaults", body: "[[ingest.feeds]]\nurl = 'https://a.example/f'\n", check: func(t *testing.T, c Config) {
			f := c.Ingest.Feeds[0]
			if f.Interval.Duration != 10*time.Minute || f.Backfill == nil || *f.Backfill != 1 {
				t.Errorf("feed defaults: %+v", f)
			}
		}},
		{name: "env expansion", body: "[[ingest.feeds]]\nurl = 'https://a.example/f'\nheaders = { Cookie = 'sid=${SID}' }\ndrop_patterns = ['end$']\n",
			env: map[string]string{"SID": "s3cret"}, check: func(t *testing.T, c Config) {
				if got := c.Ingest.Feeds[0].Headers["Cookie"]; got != "sid=s3cret" {
					t.Errorf("Cookie = %q", got)
				}
				if got := c.Ingest.Feeds[0].DropPatterns[0]; got != "end$" {
					t.Errorf("a bare $ must survive: %q", got)
				}
			}},
		{name: "missing env var", body: "[telegram]\ntoken = '${NOPE}'\n", wantErr: "telegram.token refers to ${NOPE}"},
		{name: "env overrides file", body: "[telegram]\ntoken = 'from-file'\n[api]\ntoken = 'file'\n",
			env: map[string]string{"HERALD_TELEGRAM_TOKEN": "from-env", "HERALD_API_TOKEN": "api-env", "HERALD_DISCORD_TOKEN": "d", "HERALD_OPENAI_API_KEY": "k"},
			check: func(t *testing.T, c Config) {
				if c.Telegram.Token != "from-env" || c.API.Token != "api-env" || c.Discord.Token != "d" || c.Summarize.APIKey != "k" {
					t.Errorf("env overrides not applied: %+v", c)
				}
			}},
		{name: "syntax error has line", body: "[store]\npath = \n", wantErr: "line 2"},
		{name: "bad log level", body: "[log]\nlevel = 'loud'\n", wantErr: "log.level"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			cfg, err := LoadConfig(p, envMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if !errors.Is(err, errConfig) {
					t.Errorf("not a config error (exit 2): %v", err)
				}
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error does not name the file: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, cfg)
			}
		})
	}
}

func TestLoadConfigMissingExplicitFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "nope.toml"), envMap(nil))
	if err == nil || !errors.Is(err, errConfig) {
		t.Fatalf("err = %v", err)
	}
}
