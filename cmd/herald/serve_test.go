package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

// heraldRun is a herald process running in-process with Main.
type heraldRun struct {
	stdout, stderr *testutil.SyncBuffer
	cancel         context.CancelFunc
	done           chan int
}

// startHerald runs Main(args) with config body (written to dir/herald.toml) until stop is called.
func startHerald(t *testing.T, dir, body string, envv map[string]string, args ...string) *heraldRun {
	t.Helper()
	cfg := filepath.Join(dir, "herald.toml")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &heraldRun{stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	e := &env{stdout: r.stdout, stderr: r.stderr, stdin: strings.NewReader(""), getenv: func(k string) string { return envv[k] }}
	full := append([]string{args[0], "--config", cfg}, args[1:]...)
	go func() { r.done <- Main(ctx, full, e) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("herald did not stop")
		}
	})
	return r
}

// wait returns the exit code, failing the test if herald runs longer than d.
func (r *heraldRun) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(d):
		t.Fatalf("herald still running after %s\nstderr:\n%s", d, r.stderr.String())
		return -1
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func storeConfig(dir string) string {
	return fmt.Sprintf("[store]\npath = %q\n", filepath.Join(dir, "herald.db"))
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeDryRunOnce is the README's first command: the sample newsroom, cleaned, summarized,
// posted and DMed to the console, with the real database left untouched.
func TestServeDryRunOnce(t *testing.T) {
	dir := t.TempDir()
	r := startHerald(t, dir, storeConfig(dir), nil, "serve", "--dry-run", "--once")
	if code := r.wait(t, 60*time.Second); code != exitOK {
		t.Fatalf("exit %d\n%s", code, r.stderr.String())
	}
	out := r.stdout.String()
	for _, want := range []string{
		"telegram: post to channel " + sampleChannel,
		"<b>Harbour council approves tidal barrier after 14-hour session</b>",
		"Ferry operator &amp; unions reach pay deal &lt;finally&gt;",
		"DM to user " + sampleReaderID,
		"A public consultation on the detailed design opens on 2 December",
		"[Read the full article]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q", want)
		}
	}
	for _, junk := range []string{"Skip to main content", "Already a subscriber", "58213390417", "JOIN US", "Advertisement",
		"Keep up to date", "IMG_20261124", "Share this story", "become a member"} {
		if strings.Contains(out, junk) {
			t.Errorf("dry run output still has junk %q", junk)
		}
	}
	if strings.Index(out, "Ferry operator") > strings.Index(out, "Harbour council approves") {
		t.Error("posts are not in publication order")
	}
	if _, err := os.Stat(filepath.Join(dir, "herald.db")); !os.IsNotExist(err) {
		t.Errorf("a dry run created or touched the real database: %v", err)
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out, r.stderr.String())
	}
}

// TestServeHealthMetricsAndShutdown runs the long-lived server and stops it like SIGTERM would.
func TestServeHealthMetricsAndShutdown(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	body := storeConfig(dir) + fmt.Sprintf("[api]\nlisten = %q\n", addr)
	r := startHerald(t, dir, body, map[string]string{"HERALD_API_TOKEN": "op-secret"}, "serve")
	var health map[string]any
	eventually(t, 30*time.Second, "/healthz", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&health) == nil
	})
	if v, _ := health["schema_version"].(float64); int(v) != store.LatestSchemaVersion() {
		t.Errorf("healthz = %v", health)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"go_goroutines", "herald_stories 0", `herald_summary_tokens_total{kind="prompt"} 0`, "herald_subscriptions_entitled 0"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Pushing a story over the API queues nothing (no platform) but stores it.
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/stories", strings.NewReader(`{"guid":"p1","title":"Pushed","text":"A pushed story with one sentence."}`))
	req.Header.Set("Authorization", "Bearer op-secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("push: %d", resp.StatusCode)
	}
	start := time.Now()
	r.cancel()
	if code := r.wait(t, 7*time.Second); code != exitOK {
		t.Fatalf("exit %d\n%s", code, r.stderr.String())
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	if !strings.Contains(r.stderr.String(), "telegram disabled: no token") {
		t.Errorf("no log line about the disabled platform:\n%s", r.stderr.String())
	}
}

func TestServeBadConfigExits2(t *testing.T) {
	dir := t.TempDir()
	r := startHerald(t, dir, "[store]\npaht = 'x'\n", nil, "serve", "--once")
	if code := r.wait(t, 10*time.Second); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(r.stderr.String(), "store.paht") {
		t.Errorf("stderr: %s", r.stderr.String())
	}
}

// newsFeed serves one RSS feed with a full-content item, and counts requests.
func newsFeed(t *testing.T) *httptest.Server {
	t.Helper()
	const rss = `<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Valley Post</title><link>https://valley.example/</link>
<item><title>Bridge reopens after &lt;repairs&gt; &amp; checks</title><link>https://valley.example/bridge</link><guid>vp-1</guid>
<dc:creator>Ana Lund</dc:creator><pubDate>Wed, 25 Nov 2026 08:00:00 GMT</pubDate>
<description>The old bridge is open again.</description>
<content:encoded><![CDATA[<p>The old bridge over the Vale river reopened to traffic on Wednesday after eight months of repairs to its central arch.</p>
<p>Engineers replaced 140 tonnes of stone and added steel ties that should keep the arch stable for another century, the county said.</p>
<h2>Traffic</h2><p>Buses will return to the bridge route from Monday, cutting the journey between the two halves of the town by twenty minutes.</p>
<p>Shopkeepers on the east bank said trade had fallen by a third while the bridge was shut and welcomed the reopening.</p>
<p>The county will publish a report on the cost of the works, which ran two months over schedule, at its meeting in January.</p>]]></content:encoded>
</item></channel></rss>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, rss)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// seedReader stores an active subscription linked to a platform account in the database at path.
func seedReader(t *testing.T, path, platform, userID string) {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	sub, _, err := st.UpsertSubscription(ctx, store.Subscription{ExternalID: "cus_" + userID, Status: store.StatusActive,
		CurrentPeriodEnd: time.Now().Add(720 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := st.MintLinkCode(ctx, sub.ID, platform, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RedeemLinkCode(ctx, platform, userID, code); err != nil {
		t.Fatal(err)
	}
}

// TestServeModelRejectedAtStart: a model server that refuses the key stops serve with exit 2 and a
// clear message, not a crash, and never prints the key.
func TestServeModelRejectedAtStart(t *testing.T) {
	oa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided: sk-abc***xyz","type":"invalid_request_error","code":"invalid_api_key"}}`)
	}))
	defer oa.Close()
	dir := t.TempDir()
	body := storeConfig(dir) + fmt.Sprintf("[summarize]\nbackend = \"openai\"\nbase_url = %q\nmodel = \"m\"\n", oa.URL+"/v1")
	r := startHerald(t, dir, body, map[string]string{"HERALD_OPENAI_API_KEY": "sk-abcdefghijklmnopxyz"}, "serve", "--once")
	code := r.wait(t, 20*time.Second)
	errOut := r.stderr.String()
	if code != exitUsage || strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine ") {
		t.Fatalf("exit %d, want %d without a crash:\n%s", code, exitUsage, errOut)
	}
	if strings.Contains(errOut, "sk-abcdefghijklmnopxyz") {
		t.Error("the API key was printed")
	}
	if !strings.Contains(errOut, "summarize") {
		t.Errorf("message does not say what failed: %s", errOut)
	}
}

// TestServeOnceBackfillZero: backfill = 0 stores the first poll's items without delivering any.
func TestServeOnceBackfillZero(t *testing.T) {
	feed := newsFeed(t)
	dir := t.TempDir()
	body := storeConfig(dir) + fmt.Sprintf("[[ingest.feeds]]\nurl = %q\nbackfill = 0\n[telegram]\nchannels = [\"@x\"]\n", feed.URL)
	r := startHerald(t, dir, body, nil, "serve", "--dry-run", "--once")
	if code := r.wait(t, 30*time.Second); code != exitOK {
		t.Fatalf("exit %d\n%s", code, r.stderr.String())
	}
	if out := r.stdout.String(); strings.Contains(out, "post to channel") {
		t.Errorf("backfill = 0 delivered the first poll's items:\n%s", out)
	}
}
