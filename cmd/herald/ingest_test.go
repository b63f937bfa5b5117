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

// runHerald runs Main with a config whose database lives in dir.
func runHerald(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cfg := filepath.Join(dir, "herald.toml")
	if _, err := os.Stat(cfg); err != nil {
		if err := os.WriteFile(cfg, []byte("[store]\npath = \""+filepath.ToSlash(filepath.Join(dir, "herald.db"))+"\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
	full := append([]string{args[0], "--config", cfg}, args[1:]...)
	code = Main(context.Background(), full, e)
	return code, out.String(), errb.String()
}

const cliStory = `Harbour wall repaired after winter storms

The harbour wall at Eastport was repaired this week after the winter storms left a twenty-metre gap in its seaward face.

Skip to main content

Engineers from the county worked through two spring tides to finish the job, using stone recovered from the beach where the storm had thrown it.

The harbour master said the fishing fleet could use the inner berths again from Monday.
`

func TestPreviewJSON(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "story.txt")
	if err := os.WriteFile(src, []byte(cliStory), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runHerald(t, dir, "preview", "--json", src)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"title", "byline", "published_at", "text", "summary", "summarizer"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing key %q", k)
		}
	}
	text, _ := got["text"].(string)
	if got["title"] != "Harbour wall repaired after winter storms" || strings.Contains(text, "Skip to main content") ||
		!strings.HasPrefix(text, "The harbour wall at Eastport") || !strings.Contains(text, "beach where the storm had thrown it.\n\nThe harbour master") {
		t.Fatalf("title %q, text:\n%s", got["title"], text)
	}
	if got["summary"] == "" || got["summarizer"] != "extractive" {
		t.Fatalf("summary %q by %q", got["summary"], got["summarizer"])
	}
	if _, err := os.Stat(filepath.Join(dir, "herald.db")); err == nil {
		t.Fatal("preview created the database")
	}

	code, out, _ = runHerald(t, dir, "preview", src)
	if code != exitOK || !strings.Contains(out, "channel post") || !strings.Contains(out, "telegram DM") {
		t.Fatalf("text preview (exit %d):\n%s", code, out)
	}
}

func TestPreviewPaywalledFixture(t *testing.T) {
	wd, _ := os.Getwd()
	src := filepath.Join(wd, "..", "..", "..", "shared", "fixtures", "paywalled-article.txt")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("%s not available: skipping", src)
	}
	code, out, errOut := runHerald(t, t.TempDir(), "preview", "--json", src)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct{ Text string }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Text, "The United States has wrapped up") || !strings.HasSuffix(got.Text, "London next week.") ||
		strings.Contains(got.Text, "Already a subscriber") {
		t.Fatalf("text:\n%s", got.Text)
	}
}

func TestIngestCommand(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "story.txt")
	if err := os.WriteFile(src, []byte(cliStory), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runHerald(t, dir, "ingest", "--json", src)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got["result"] != "created" || got["has_full_text"] != true || got["summarizer"] != "extractive" {
		t.Fatalf("first ingest: %v", got)
	}
	code, out, _ = runHerald(t, dir, "ingest", src)
	if code != exitOK || !strings.Contains(out, "unchanged") {
		t.Fatalf("second ingest (exit %d): %s", code, out)
	}
	if code, _, _ := runHerald(t, dir, "ingest"); code != exitUsage {
		t.Fatalf("ingest without argument: exit %d", code)
	}
}
