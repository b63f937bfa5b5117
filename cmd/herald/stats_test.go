package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An operator runs `herald serve --once` over feeds of which some are broken, then
// `herald stats` shows each failing feed with its reason, in text and in JSON.
func TestStatsShowsFailingFeeds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down.xml":
			http.Error(w, "oops", http.StatusInternalServerError)
		case "/garbage.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprint(w, "<rss><channel><item><title>cut off")
		case "/ok.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>OK</title><link>%[1]s/</link>
<item><title>Harbour wall repaired</title><guid>w1</guid><link>%[1]s/w1</link><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate>
<description><![CDATA[%[2]s]]></description></item></channel></rss>`, "http://"+r.Host, strings.Repeat("<p>The harbour wall at Eastport was repaired this week after the winter storms left a gap in its seaward face. Engineers worked through two spring tides to finish the job.</p>", 6))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`[store]
path = %q
[[ingest.feeds]]
url = "%s/down.xml"
name = "Down"
[[ingest.feeds]]
url = "%s/garbage.xml"
name = "Garbage"
[[ingest.feeds]]
url = "%s/ok.xml"
name = "Fine"
`, filepath.ToSlash(filepath.Join(dir, "herald.db")), srv.URL, srv.URL, srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "herald.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runHerald(t, dir, "serve", "--once"); code != exitOK {
		t.Fatalf("serve --once: exit %d\n%s", code, errOut)
	}
	code, out, errOut := runHerald(t, dir, "stats")
	if code != exitOK {
		t.Fatalf("stats: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"stories        1", "feeds          3 (2 failing, 0 disabled)", "Down", "HTTP 500", "Garbage", "parse feed"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Fine") {
		t.Errorf("a healthy feed is listed as failing:\n%s", out)
	}
	code, out, errOut = runHerald(t, dir, "stats", "--json")
	if code != exitOK {
		t.Fatalf("stats --json: exit %d\n%s", code, errOut)
	}
	var s struct {
		SchemaVersion int `json:"schema_version"`
		Stories       int `json:"stories"`
		Feeds         int `json:"feeds"`
		FeedsFailing  int `json:"feeds_failing"`
		FailingFeeds  []struct {
			Name, URL, Error string
			Failures         int
			Disabled         bool
		} `json:"failing_feeds"`
		Subscriptions         *int             `json:"subscriptions"`
		SubscriptionsEntitled *int             `json:"subscriptions_entitled"`
		Links                 *int             `json:"links"`
		DeliveriesByState     map[string]int64 `json:"deliveries_by_state"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	if s.SchemaVersion < 1 || s.Stories != 1 || s.Feeds != 3 || s.FeedsFailing != 2 || len(s.FailingFeeds) != 2 ||
		s.Subscriptions == nil || s.SubscriptionsEntitled == nil || s.Links == nil || len(s.DeliveriesByState) != 5 {
		t.Fatalf("stats --json:\n%s", out)
	}
	for _, f := range s.FailingFeeds {
		if f.Failures != 1 || f.Disabled || f.Error == "" || !strings.HasPrefix(f.URL, srv.URL) {
			t.Errorf("failing feed %+v", f)
		}
	}
}
