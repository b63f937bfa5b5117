package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

func TestLoadDetectsContent(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rss, err := os.ReadFile("testdata/ghost.rss")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("testdata/article.html")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, HTTPOptions{})
	tests := []struct {
		name, file, content string
		items               int
		title               string
		textHas             string
	}{
		// Names lie on purpose: the type comes from the content.
		{"feed named .txt", "feed.txt", strings.ReplaceAll(string(rss), "{{BASE}}", "https://dispatch.example"), 2, "Wind farm plan goes to public inquiry", "public inquiry that is expected to open in June"},
		{"html named .txt", "page.txt", string(page), 1, "Ferry operator adds a winter timetable", "forty-minute drive around the estuary"},
		{"text with a title line", "story.html", "Harbour wall repaired\n\nThe harbour wall was repaired this week after the winter storms.\n\nThe work cost less than expected.", 1, "Harbour wall repaired", "cost less than expected"},
		{"text without a title", "notes", "The harbour wall was repaired this week.\n\nThe work cost less than expected.", 1, "", "repaired this week"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ins, err := e.pipe.Load(context.Background(), write(tt.file, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			if len(ins) != tt.items {
				t.Fatalf("%d inputs, want %d", len(ins), tt.items)
			}
			for _, in := range ins {
				if in.Origin != "cli" || !strings.HasPrefix(in.GUID, "file:") {
					t.Fatalf("identity %q %q", in.Origin, in.GUID)
				}
			}
			st, err := e.pipe.Prepare(context.Background(), ins[0])
			if err != nil {
				t.Fatal(err)
			}
			if st.Title != tt.title || !strings.Contains(st.Text, tt.textHas) || !st.HasFullText() {
				t.Fatalf("title %q (want %q), extract error %q, text:\n%s", st.Title, tt.title, st.ExtractError, st.Text)
			}
		})
	}
	if _, err := e.pipe.Load(context.Background(), filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file loaded")
	}
}

func TestLoadURL(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	s := newSite(t)
	page := s.testdata(t, "article.html")
	s.serve("/story", "text/html", func() []byte { return page }, "")
	ins, err := e.pipe.Load(context.Background(), s.url("/story?utm_campaign=x"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].GUID != s.url("/story") {
		t.Fatalf("inputs %+v", ins)
	}
	st, res, err := e.pipe.Process(context.Background(), ins[0], true)
	if err != nil || res != 1 || st.URL != s.url("/story") || st.SiteName != "Harbour Times" || st.Summary == "" {
		t.Fatalf("process: %v %v %+v", res, err, st)
	}
}

// TestPaywalledFixture runs the shared paywalled-article fixture through the CLI path:
// exactly the story's paragraphs, none of the page chrome.
func TestPaywalledFixture(t *testing.T) {
	path := testutil.SharedPath(t, "fixtures", "paywalled-article.txt")
	e := newEnv(t, HTTPOptions{})
	ins, err := e.pipe.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.pipe.Prepare(context.Background(), ins[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.Text, "The United States has wrapped up") || !strings.HasSuffix(st.Text, "London next week.") {
		t.Fatalf("text does not run from the first to the last sentence of the story:\n%s", st.Text)
	}
	for _, junk := range []string{"Skip to main content", "Already a subscriber", "log into your account", "54458872633"} {
		if strings.Contains(st.Text, junk) || strings.Contains(st.Title, junk) {
			t.Errorf("junk %q kept", junk)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, HTTPOptions{MaxBodyBytes: 4096})
	tests := []struct {
		name    string
		content []byte
		want    string
		tooBig  bool
	}{
		{"empty", nil, "empty", false},
		{"only blank lines", []byte("\n \n\t\n"), "empty", false},
		{"binary", []byte{0xff, 0xfe, 0x00, 0x9c, 0x81, 0xc3, 0x28, 0xa0, 0xa1}, "not UTF-8 text, HTML or a feed", false},
		{"over the cap", []byte(strings.Repeat("A sentence of a story. ", 200)), "ingest.max_body_bytes", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "input")
			if err := os.WriteFile(p, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, load := range []func() ([]Input, error){
				func() ([]Input, error) { return e.pipe.Load(context.Background(), p) },
				func() ([]Input, error) { return e.pipe.LoadData("standard input", tt.content) },
			} {
				_, err := load()
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want it to say %q", err, tt.want)
				}
				if errors.Is(err, ErrBodyTooLarge) != tt.tooBig {
					t.Errorf("errors.Is(err, ErrBodyTooLarge) = %v for %v", !tt.tooBig, err)
				}
			}
		})
	}
}

// Standard input has no name to identify a story by: the same content is the same story.
func TestLoadDataIdentity(t *testing.T) {
	e := newEnv(t, HTTPOptions{})
	text := []byte("Harbour wall repaired\n\nThe harbour wall was repaired this week after the winter storms.\n\nThe work cost less than expected.")
	a, err := e.pipe.LoadData("standard input", text)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.pipe.LoadData("standard input", text)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.pipe.LoadData("standard input", append(text, " It reopens on Monday."...))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || a[0].Title != "Harbour wall repaired" || a[0].GUID != b[0].GUID || a[0].GUID == c[0].GUID {
		t.Fatalf("identities %q %q %q (title %q)", a[0].GUID, b[0].GUID, c[0].GUID, a[0].Title)
	}
	_, first, err := e.pipe.Process(context.Background(), a[0], true)
	if err != nil {
		t.Fatal(err)
	}
	_, again, err := e.pipe.Process(context.Background(), b[0], true)
	if err != nil || first != store.StoryCreated || again != store.StoryUnchanged {
		t.Fatalf("ingesting the same standard input twice: %v then %v (%v)", first, again, err)
	}
}
