package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mainIn runs Main in the working directory with no environment and returns the exit status and outputs.
func mainIn(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
	code = Main(context.Background(), args, e)
	return code, out.String(), errb.String()
}

func TestEveryCommandHasHelp(t *testing.T) {
	want := []string{"serve", "preview", "ingest", "summarize", "subscriptions", "link-code", "stats", "version"}
	dir := t.TempDir()
	t.Chdir(dir)
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
				code, out, _ := mainIn(t, args...)
				if code != exitOK || !strings.Contains(out, "Usage: herald "+name) || !strings.Contains(out, "-config") {
					t.Errorf("herald %s: exit %d, output:\n%s", strings.Join(args, " "), code, out)
				}
			}
		})
	}
	code, out, _ := mainIn(t, "--help")
	for _, name := range want {
		if !strings.Contains(out, "  "+name+" ") {
			t.Errorf("herald --help does not list %s:\n%s", name, out)
		}
	}
	if code != exitOK {
		t.Errorf("herald --help: exit %d", code)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("--help wrote files: %v", entries)
	}
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	story := filepath.Join(dir, "story.txt")
	if err := os.WriteFile(story, []byte(cliStory), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want int
	}{
		{nil, exitUsage},
		{[]string{"frobnicate"}, exitUsage},
		{[]string{"stats", "--no-such-flag"}, exitUsage},
		{[]string{"stats", "extra"}, exitUsage},
		{[]string{"preview"}, exitUsage},
		{[]string{"preview", story, story}, exitUsage},
		{[]string{"summarize", "--backend", "magic", story}, exitUsage},
		{[]string{"stats", "--config", filepath.Join(dir, "missing.toml")}, exitUsage},
		{[]string{"preview", filepath.Join(dir, "missing.txt")}, exitFailure},
		{[]string{"version"}, exitOK},
		{[]string{"--version"}, exitOK},
		{[]string{"preview", story}, exitOK},
	}
	for _, tc := range tests {
		if code, _, errOut := mainIn(t, tc.args...); code != tc.want {
			t.Errorf("herald %s: exit %d, want %d; stderr:\n%s", strings.Join(tc.args, " "), code, tc.want, errOut)
		}
	}
}

// README writes flags after the argument (`herald link-code SUBSCRIPTION --platform P`);
// every command accepts that order.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	story := filepath.Join(dir, "story.txt")
	if err := os.WriteFile(story, []byte(cliStory), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"preview", story, "--json"},
		{"summarize", story, "--json", "--backend", "extractive"},
		{"stats", "--json"},
	} {
		code, out, errOut := mainIn(t, args...)
		var v map[string]any
		if code != exitOK || json.Unmarshal([]byte(out), &v) != nil {
			t.Errorf("herald %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
	}
}
