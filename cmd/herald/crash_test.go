package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldnews/herald/bots/telegram/telegramtest"
	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

// The crash test runs the real herald binary, built once per test process into heraldBinDir.
var (
	heraldBinOnce sync.Once
	heraldBinDir  string
	heraldBin     string
	heraldBinErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if heraldBinDir != "" {
		os.RemoveAll(heraldBinDir)
	}
	os.Exit(code)
}

// buildHerald builds ./cmd/herald from the module root once and returns the binary's path.
func buildHerald(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("crash test: no go command on PATH to build the herald binary: %v", err)
	}
	heraldBinOnce.Do(func() {
		root, err := testutil.ModuleRoot()
		if err != nil {
			heraldBinErr = err
			return
		}
		if heraldBinDir, err = os.MkdirTemp("", "herald-crash-bin-"); err != nil {
			heraldBinErr = err
			return
		}
		heraldBin = filepath.Join(heraldBinDir, "herald")
		cmd := exec.Command(goBin, "build", "-o", heraldBin, "./cmd/herald")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			heraldBinErr = fmt.Errorf("go build ./cmd/herald: %v\n%s", err, out)
		}
	})
	if heraldBinErr != nil {
		t.Fatal(heraldBinErr)
	}
	return heraldBin
}

// crashArticle is a story body long enough to need two Telegram DM parts (over 4096 characters,
// under 8192): invented paragraphs, each different so no cleaning step takes them for boilerplate.
func crashArticle() string {
	places := []string{"Northgate", "Mill Lane", "the harbour road", "Elm Park", "the old quarry", "Riverside",
		"the market square", "Castle Hill", "the ring road", "Westfield", "the ferry terminal", "Brook Street", "the station forecourt", "Oakmoor"}
	var b strings.Builder
	for i, p := range places {
		fmt.Fprintf(&b, "<p>At %s, surveyors counted %d vehicles an hour during the morning peak in the week the council studied, "+
			"about %d more than in the same week last year. Residents told the inquiry that the queues now reach the junction "+
			"before eight o'clock, and the transport officer said a new signal phase was being tested there. "+
			"The committee asked for a costed plan for %s by the spring, with figures for buses, cycles and deliveries "+
			"kept apart so that each can be judged on its own.</p>\n", p, 400+37*i, 20+3*i, p)
	}
	return b.String()
}

// crashFeed serves one RSS feed whose single item carries crashArticle as its full content.
func crashFeed(t *testing.T) *httptest.Server {
	t.Helper()
	rss := `<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Valley Post</title><link>https://valley.example/</link>
<item><title>Council weighs traffic plan for fourteen junctions</title><link>https://valley.example/traffic</link><guid>vp-crash-1</guid>
<pubDate>Wed, 25 Nov 2026 08:00:00 GMT</pubDate>
<description>The council studied traffic at fourteen junctions.</description>
<content:encoded><![CDATA[` + crashArticle() + `]]></content:encoded>
</item></channel></rss>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, rss)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// seedCrashReaders stores n active subscriptions, each linked on Telegram to its own user id
// (firstUser, firstUser+1, …) through a minted and redeemed link code, as a reader would link.
func seedCrashReaders(t *testing.T, path string, n int, firstUser int64) {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	end := time.Now().Add(720 * time.Hour)
	for i := range n {
		sub, _, err := st.UpsertSubscription(ctx, store.Subscription{ExternalID: fmt.Sprintf("cus_crash_%04d", i),
			Status: store.StatusActive, CurrentPeriodEnd: end})
		if err != nil {
			t.Fatal(err)
		}
		code, _, err := st.MintLinkCode(ctx, sub.ID, "telegram", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.RedeemLinkCode(ctx, "telegram", fmt.Sprint(firstUser+int64(i)), code); err != nil {
			t.Fatal(err)
		}
	}
}

// crashStats is the part of `herald stats --json` the crash test reads.
type crashStats struct {
	Deliveries map[string]map[string]int64
}

func heraldStats(t *testing.T, bin, dir, cfg string) (crashStats, error) {
	t.Helper()
	cmd := exec.Command(bin, "stats", "--json", "--config", cfg)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return crashStats{}, fmt.Errorf("herald stats: %v\n%s", err, stderr.String())
	}
	var s crashStats
	if err := json.Unmarshal(out, &s); err != nil {
		return crashStats{}, fmt.Errorf("herald stats: %v\n%s", err, out)
	}
	return s, nil
}

// heraldProc is one run of `herald serve` as a child process.
type heraldProc struct {
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	err    error
}

func startServe(t *testing.T, bin, dir, cfg, logPath string, env []string) *heraldProc {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	p := &heraldProc{cmd: exec.Command(bin, "serve", "--config", cfg), log: logf, exited: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *heraldProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill ends the process with SIGKILL, as a crash or an OOM killer would.
func (p *heraldProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && p.running() {
		t.Fatalf("SIGKILL: %v", err)
	}
	<-p.exited
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestCrashServeTelegramFanout SIGKILLs a real `herald serve` several times while it DMs a
// two-part article to 2,000 linked readers through a fake Bot API, restarts it each time, and
// checks that every reader got every part, nothing was sent more than twice, the duplicates
// stay within what the in-flight sends allow, and every delivery row ends final.
func TestCrashServeTelegramFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds the herald binary and runs it several times (a few seconds); skipped with -short")
	}
	bin := buildHerald(t)
	const (
		readers     = 2000
		firstUser   = 700000
		kills       = 3
		concurrency = 8
		channel     = "@valley_crash"
	)
	seed := uint64(time.Now().UnixNano())
	rnd := rand.New(rand.NewPCG(seed, seed>>7))
	t.Logf("seed %d", seed)

	dir := t.TempDir()
	db := filepath.Join(dir, "herald.db")
	seedStart := time.Now()
	seedCrashReaders(t, db, readers, firstUser)
	t.Logf("seeded %d linked readers in %s", readers, time.Since(seedStart).Round(time.Millisecond))

	fake := telegramtest.NewServer("123456:CRASHTOKEN", "valley_herald_bot")
	t.Cleanup(fake.Close)
	feed := crashFeed(t)
	cfg := filepath.Join(dir, "herald.toml")
	writeConfig := func() {
		body := storeConfig(dir) + fmt.Sprintf(`
[[ingest.feeds]]
url = %q
[telegram]
api_url = %q
channels = [%q]
poll_timeout = "1s"
global_rate = 1000.0
chat_rate = 100.0
[delivery]
concurrency = %d
poll_interval = "50ms"
shutdown_timeout = "5s"
[api]
listen = %q
`, feed.URL, fake.URL, channel, concurrency, freeAddr(t))
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HERALD_") {
			env = append(env, kv)
		}
	}
	env = append(env, "HERALD_TELEGRAM_TOKEN="+fake.Token)

	// Each run but the last is killed after a random number of messages of its own; at least 100,
	// so the few rows a previous kill left in flight (claimed first on restart) are finished
	// before the next kill and no row is caught in flight twice. At most 1,100 each, so three
	// kills always land before the 4,001 messages of the fan-out are through.
	bounds := []int{0}
	for run := 1; run <= kills+1; run++ {
		writeConfig()
		logPath := filepath.Join(dir, fmt.Sprintf("run%d.log", run))
		start := fake.SentCount()
		p := startServe(t, bin, dir, cfg, logPath, env)
		if run <= kills {
			n := 100 + rnd.IntN(1001)
			deadline := time.Now().Add(90 * time.Second)
			for fake.SentCount()-start < n {
				if !p.running() {
					t.Fatalf("run %d: herald exited before the kill: %v\n%s", run, p.err, tail(logPath, 40))
				}
				if time.Now().After(deadline) {
					t.Fatalf("run %d: only %d of %d messages before the deadline\n%s", run, fake.SentCount()-start, n, tail(logPath, 40))
				}
				time.Sleep(time.Millisecond)
			}
			p.kill(t)
			t.Logf("run %d: SIGKILL after %d messages (aimed at %d)", run, fake.SentCount()-start, n)
		} else {
			deadline := time.Now().Add(120 * time.Second)
			for {
				if !p.running() {
					t.Fatalf("last run: herald exited: %v\n%s", p.err, tail(logPath, 40))
				}
				s, err := heraldStats(t, bin, dir, cfg)
				if err != nil {
					t.Fatal(err)
				}
				d := s.Deliveries["telegram"]
				if d != nil && d["pending"]+d["sending"] == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("last run: deliveries still unfinished: %v\n%s", d, tail(logPath, 40))
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.exited:
			case <-time.After(30 * time.Second):
				t.Fatalf("last run: herald did not stop on SIGTERM\n%s", tail(logPath, 40))
			}
			if p.err != nil {
				t.Fatalf("last run: exit after SIGTERM: %v\n%s", p.err, tail(logPath, 40))
			}
			t.Logf("run %d: finished after %d messages", run, fake.SentCount()-start)
		}
		bounds = append(bounds, fake.SentCount())
		logText, _ := os.ReadFile(logPath)
		if strings.Contains(string(logText), fake.Token) {
			t.Errorf("run %d: the bot token appears in the log", run)
		}
		for _, line := range strings.Split(string(logText), "\n") {
			if strings.Contains(line, "level=ERROR") {
				t.Errorf("run %d logged an error: %s", run, line)
			} else if strings.Contains(line, "level=WARN") {
				t.Logf("run %d: %s", run, line)
			}
		}
	}

	// What the readers got, from the fake server's side.
	sent := fake.Sent()
	type key struct{ chat, text string }
	got := map[key]int{}
	partTexts := map[string]bool{}
	posts := 0
	dupsPerRun := make([]int, kills+1)
	run := 0
	for i, m := range sent {
		for run < kills && i >= bounds[run+1] {
			run++
		}
		if m.ChatID == channel {
			posts++
			continue
		}
		k := key{m.ChatID, m.Text}
		if got[k] > 0 {
			dupsPerRun[run]++
		}
		got[k]++
		partTexts[m.Text] = true
	}
	parts := len(partTexts)
	if parts < 2 {
		t.Fatalf("readers got %d distinct DM texts; the article should need at least 2 parts", parts)
	}
	for text := range partTexts {
		if !strings.Contains(text, fmt.Sprintf("/%d)", parts)) {
			t.Errorf("a DM text is not numbered as one of %d parts: %.120q…", parts, text)
		}
	}
	if posts != 1 {
		t.Errorf("channel post sent %d times, want 1", posts)
	}
	missing, overTwice, dups := 0, 0, 0
	for i := range readers {
		chat := fmt.Sprint(firstUser + i)
		for text := range partTexts {
			switch n := got[key{chat, text}]; {
			case n == 0:
				missing++
				if missing <= 5 {
					t.Errorf("reader %s never got a part", chat)
				}
			case n > 2:
				overTwice++
				t.Errorf("reader %s got a part %d times", chat, n)
			}
			if n := got[key{chat, text}]; n > 1 {
				dups += n - 1
			}
		}
	}
	if len(got) != readers*parts {
		t.Errorf("%d (chat, part) pairs received, want %d readers × %d parts", len(got), readers, parts)
	}
	for r, d := range dupsPerRun {
		t.Logf("run %d: %d messages, %d duplicates", r+1, bounds[r+1]-bounds[r], d)
	}
	t.Logf("%d kills, %d messages in all for %d readers × %d parts + 1 post, %d duplicates (bound %d), %d missing",
		kills, len(sent), readers, parts, dups, kills*concurrency*parts, missing)
	if limit := kills * concurrency * parts; dups > limit {
		t.Errorf("%d duplicate messages, more than the %d that %d kills × %d in flight × %d parts allow", dups, limit, kills, concurrency, parts)
	}
	if missing > 0 || overTwice > 0 {
		t.Errorf("%d (reader, part) pairs missing, %d received more than twice", missing, overTwice)
	}

	// What the database says, after the process has exited.
	s, err := heraldStats(t, bin, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := s.Deliveries["telegram"]
	if d["pending"] != 0 || d["sending"] != 0 {
		t.Errorf("herald stats after the last run: %v, want 0 pending and 0 sending", d)
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.StoryDeliveries(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	dms, postRows := 0, 0
	for _, r := range rows {
		switch r.Kind {
		case store.DeliveryDM:
			dms++
		case store.DeliveryPost:
			postRows++
		}
		if r.State != store.DeliverySent {
			t.Errorf("delivery %d (%s to %s) ended %s %q, want sent", r.ID, r.Kind, r.Target, r.State, r.Reason)
		}
		if r.Kind == store.DeliveryDM && r.PartsSent != parts {
			t.Errorf("delivery %d to %s records %d parts sent, want %d", r.ID, r.Target, r.PartsSent, parts)
		}
	}
	if dms != readers || postRows != 1 {
		t.Errorf("story 1 has %d DM rows and %d post rows, want %d and 1", dms, postRows, readers)
	}
}
