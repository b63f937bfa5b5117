package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/bots/discord/discordtest"
	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	testToken = "MTIzNDU2Nzg5.secret-bot-token.xyz"
	wait      = 5 * time.Second
)

// recorder is a fake bots.Handler: it records requests and answers with reply.
type recorder struct {
	mu    sync.Mutex
	reqs  []bots.Request
	reply func(bots.Request) bots.Reply
}

func (r *recorder) Handle(_ context.Context, req bots.Request) bots.Reply {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.reply(req)
}

func (r *recorder) requests() []bots.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bots.Request(nil), r.reqs...)
}

type env struct {
	srv  *discordtest.Server
	bot  *Bot
	logs *testutil.SyncBuffer
}

// newEnv starts a fake Discord and a Bot on it; the token must never reach the logs.
func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	srv := discordtest.New(testToken)
	t.Cleanup(srv.Close)
	logs := &testutil.SyncBuffer{}
	cfg := Config{Token: testToken, APIURL: srv.APIURL, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testToken) {
			t.Errorf("the token appears in the logs:\n%s", logs.String())
		}
	})
	return &env{srv: srv, bot: b, logs: logs}
}

// run starts the bot's gateway session with h until the test ends.
func (e *env) run(t *testing.T, h bots.Handler) {
	t.Helper()
	done := testutil.Background(t, wait, func(ctx context.Context) error { return e.bot.Run(ctx, h) })
	if err := e.srv.WaitConnected(wait); err != nil {
		select {
		case err := <-done:
			t.Fatalf("Run returned: %v", err)
		default:
		}
		t.Fatal(err)
	}
}

func decode(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return m
}

// golden compares JSON with testdata/name, normalized (indented, keys sorted).
func golden(t *testing.T, name string, raw []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestNewRejectsWrongToken(t *testing.T) {
	srv := discordtest.New("the-right-token")
	defer srv.Close()
	logs := &testutil.SyncBuffer{}
	_, err := New(context.Background(), Config{Token: testToken, APIURL: srv.APIURL, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err == nil {
		t.Fatal("New accepted a wrong token")
	}
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "token") {
		t.Errorf("error does not explain the problem: %v", err)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(logs.String(), testToken) {
		t.Errorf("the token leaked: err=%v logs=%s", err, logs.String())
	}
	if calls := srv.CallsTo("GET", "/users/@me"); len(calls) != 1 {
		t.Errorf("got %d GET /users/@me, want 1", len(calls))
	}
}

func TestNewConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"empty token", Config{}},
		{"relative api url", Config{Token: "x", APIURL: "discord.local/api"}},
	} {
		if _, err := New(context.Background(), tc.cfg); err == nil {
			t.Errorf("%s: New accepted %+v", tc.name, tc.cfg)
		}
	}
}

func TestNewLearnsApplicationID(t *testing.T) {
	e := newEnv(t, nil)
	if got := e.bot.ApplicationID(); got != e.srv.AppID {
		t.Errorf("application id %q, want %q", got, e.srv.AppID)
	}
	if len(e.srv.CallsTo("GET", "/oauth2/applications/@me")) != 1 {
		t.Error("the application id was not read from /oauth2/applications/@me")
	}
	configured := newEnv(t, func(c *Config) { c.ApplicationID = "42"; c.Token = "Bot " + testToken })
	if configured.bot.ApplicationID() != "42" || len(configured.srv.CallsTo("GET", "/oauth2/applications/@me")) != 0 {
		t.Error("a configured application id was not used as is")
	}
}

func TestRunRegistersCommandsAndConnects(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Autocomplete = func(context.Context, string) []Choice { return nil }
	})
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { return bots.Reply{} }})

	puts := e.srv.CallsTo("PUT", "/applications/"+e.srv.AppID+"/commands")
	if len(puts) != 1 {
		t.Fatalf("got %d bulk overwrites, want 1 (calls: %v)", len(puts), e.srv.Calls())
	}
	golden(t, "commands.golden.json", puts[0].Body)
	if len(e.srv.CallsTo("GET", "/gateway")) != 1 {
		t.Error("the gateway URL was not discovered through the configured API URL")
	}
	ids := e.srv.Identifies()
	if len(ids) != 1 || !ids[0].TokenOK || ids[0].Intents != 1 {
		t.Errorf("identify = %+v, want one with the token and intents=1 (Guilds)", ids)
	}
}

func TestRunRegistersGuildCommands(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.GuildID = "555" })
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { return bots.Reply{} }})
	puts := e.srv.CallsTo("PUT", "/applications/"+e.srv.AppID+"/guilds/555/commands")
	if len(puts) != 1 {
		t.Fatalf("got %d guild overwrites, want 1", len(puts))
	}
	var cmds []map[string]any
	if err := json.Unmarshal(puts[0].Body, &cmds); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cmds {
		names = append(names, c["name"].(string))
		if c["description"] == "" {
			t.Errorf("command %v has no description", c["name"])
		}
	}
	want := []string{"latest", "search", "story", "link", "unlink", "status", "pause", "resume", "help"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("commands %v, want %v", names, want)
	}
	story := cmds[2]["options"].([]any)[0].(map[string]any)
	if story["autocomplete"] != false {
		t.Error("/story offers autocomplete although no Autocomplete func is configured")
	}
}

var guild = discordtest.From{UserID: "111", ChannelID: "222", GuildID: "333"}

func TestLinkIsPrivateAndEphemeral(t *testing.T) {
	e := newEnv(t, nil)
	h := &recorder{reply: func(r bots.Request) bots.Reply {
		return bots.Reply{Blocks: bots.Text("Linked to the subscription of r***@example.com."), Personal: true}
	}}
	e.run(t, h)
	it, err := e.srv.SlashCommand(guild, "link", discordtest.Option{Name: "code", Value: " ABCD-EFGH "})
	if err != nil {
		t.Fatal(err)
	}
	calls, err := e.srv.WaitResponses(it, 1, wait)
	if err != nil {
		t.Fatal(err)
	}
	want := bots.Request{Platform: "discord", UserID: "111", ChatID: "222", Private: true, Command: "link", Args: "ABCD-EFGH", Limits: e.bot.Limits()}
	got := h.requests()
	if len(got) != 1 {
		t.Fatalf("handler got %d requests", len(got))
	}
	got[0].Limits.Measure, want.Limits.Measure = nil, nil
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("request %+v, want %+v", got[0], want)
	}
	resp := decode(t, calls[0].Body)
	data := resp["data"].(map[string]any)
	if resp["type"] != 4.0 || data["flags"] != 64.0 {
		t.Errorf("response type %v flags %v, want 4 and 64 (ephemeral)", resp["type"], data["flags"])
	}
	if data["content"] != `Linked to the subscription of r\*\*\*@example.com.` {
		t.Errorf("content %q", data["content"])
	}
	if am := data["allowed_mentions"].(map[string]any); len(am["parse"].([]any)) != 0 {
		t.Errorf("allowed_mentions %v", am)
	}
}

func TestPublicReplyIsNotEphemeral(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { return bots.Reply{Blocks: bots.Text("Commands: …")} }})
	it, _ := e.srv.SlashCommand(guild, "help")
	calls, err := e.srv.WaitResponses(it, 1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if data := decode(t, calls[0].Body)["data"].(map[string]any); data["flags"] != nil {
		t.Errorf("/help answer has flags %v, want a public answer", data["flags"])
	}
}

func testCard() bots.StoryCard {
	return bots.StoryCard{
		StoryID: 42, Title: "Council *approves* budget", URL: "https://news.example/2025/budget",
		Summary: "The council approved the budget. @everyone should read <@123456789> and <@&42>.\n# Not a heading",
		Byline:  "Jane Doe", ImageURL: "https://news.example/img/budget.jpg", SiteName: "Example News",
		PublishedAt: time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC), Summarizer: "extractive", HasFullText: true,
	}
}

func TestPostEmbedGolden(t *testing.T) {
	e := newEnv(t, nil)
	ref, err := e.bot.Post(context.Background(), "9001", testCard())
	if err != nil {
		t.Fatal(err)
	}
	calls := e.srv.CallsTo("POST", "/channels/9001/messages")
	if len(calls) != 1 {
		t.Fatalf("got %d posts", len(calls))
	}
	if ref.ChatID != "9001" || len(ref.MessageIDs) != 1 || ref.MessageIDs[0] == "" {
		t.Errorf("ref %+v", ref)
	}
	golden(t, "post.golden.json", calls[0].Body)
	m := decode(t, calls[0].Body)
	if am := m["allowed_mentions"].(map[string]any); am["parse"] == nil || len(am["parse"].([]any)) != 0 {
		t.Errorf("allowed_mentions = %v, want parse=[]", am)
	}

	noText := testCard()
	noText.HasFullText = false
	if _, err := e.bot.Post(context.Background(), "9001", noText); err != nil {
		t.Fatal(err)
	}
	calls = e.srv.CallsTo("POST", "/channels/9001/messages")
	if strings.Contains(string(calls[1].Body), "story:42") {
		t.Error("a story without full text got the full-article button")
	}
}

func article(n int) []bots.Message {
	var body store.Body
	for i := 0; i < n; i++ {
		body = append(body, store.Block{Kind: store.BlockParagraph, Spans: []store.Span{{Text: strings.Repeat("Paragraph text. ", 100)}}})
	}
	l := bots.Limits{MaxText: MaxContent, Measure: Measure}
	return bots.ArticleMessages(store.Story{Title: "Budget", URL: "https://news.example/b", Body: body}, l)
}

func TestButtonDeliversArticleOnlyWhenEntitled(t *testing.T) {
	e := newEnv(t, nil)
	full := article(3)
	h := &recorder{reply: func(r bots.Request) bots.Reply {
		if r.UserID == "entitled" {
			return bots.Reply{Article: full, Personal: true}
		}
		return bots.Reply{Blocks: bots.Text("Council approves budget: summary…", "Subscribe at https://news.example/subscribe, then /link your account."), Personal: true}
	}}
	e.run(t, h)

	from := discordtest.From{UserID: "entitled", ChannelID: "222", GuildID: "333"}
	it, _ := e.srv.PressButton(from, "m1", "story:42")
	calls, err := e.srv.WaitResponses(it, 2, wait)
	if err != nil {
		t.Fatal(err)
	}
	if r := decode(t, calls[0].Body); r["type"] != 5.0 || r["data"].(map[string]any)["flags"] != 64.0 {
		t.Errorf("first answer %v, want an ephemeral deferral", r)
	}
	if calls[1].Method != "PATCH" || decode(t, calls[1].Body)["content"] != sentToDMs {
		t.Errorf("second answer %s %s", calls[1].Method, calls[1].Body)
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].Command != "story" || reqs[0].Args != "42" || !reqs[0].Private {
		t.Errorf("requests %+v", reqs)
	}
	dm := e.srv.DMChannel("entitled")
	sent := e.srv.CallsTo("POST", "/channels/"+dm+"/messages")
	if dm == "" || len(sent) != len(full) {
		t.Fatalf("DM channel %q got %d messages, want %d", dm, len(sent), len(full))
	}
	for i, c := range sent {
		m := decode(t, c.Body)
		if m["content"] != Render(full[i]) || m["flags"] != 4.0 {
			t.Errorf("DM part %d: flags %v content %.60q", i, m["flags"], m["content"])
		}
	}

	other := discordtest.From{UserID: "lapsed", ChannelID: "222", GuildID: "333"}
	it, _ = e.srv.PressButton(other, "m1", "story:42")
	calls, err = e.srv.WaitResponses(it, 2, wait)
	if err != nil {
		t.Fatal(err)
	}
	if c := decode(t, calls[1].Body)["content"].(string); !strings.Contains(c, "/link") {
		t.Errorf("refusal %q does not explain how to link", c)
	}
	if e.srv.DMChannel("lapsed") != "" {
		t.Error("a reader without entitlement got a DM channel")
	}
}

func TestButtonWithDMsClosed(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { return bots.Reply{Article: article(1), Personal: true} }})
	e.srv.CloseDMs("shy")
	it, _ := e.srv.PressButton(discordtest.From{UserID: "shy", ChannelID: "222", GuildID: "333"}, "m1", "story:7")
	calls, err := e.srv.WaitResponses(it, 2, wait)
	if err != nil {
		t.Fatal(err)
	}
	if c := decode(t, calls[1].Body)["content"]; c != dmsClosedHelp {
		t.Errorf("answer %q, want the DM help", c)
	}
}

func TestSearchIsDeferredThenAnswered(t *testing.T) {
	e := newEnv(t, nil)
	h := &recorder{reply: func(r bots.Request) bots.Reply {
		a, b := testCard(), testCard()
		b.StoryID, b.Title, b.HasFullText = 43, "Second story", false
		return bots.Reply{Blocks: bots.Text("2 stories match “budget”."), Stories: []bots.StoryCard{a, b}}
	}}
	e.run(t, h)
	it, _ := e.srv.SlashCommand(discordtest.From{UserID: "111", ChannelID: "dm-1"}, "search", discordtest.Option{Name: "query", Value: "budget"})
	calls, err := e.srv.WaitResponses(it, 2, wait)
	if err != nil {
		t.Fatal(err)
	}
	if decode(t, calls[0].Body)["type"] != 5.0 {
		t.Errorf("search was not deferred: %s", calls[0].Body)
	}
	for _, c := range calls {
		if !strings.Contains(string(c.Body), `"allowed_mentions":{"parse":[]`) {
			t.Errorf("%s %s without allowed_mentions none: %s", c.Method, c.Path, c.Body)
		}
	}
	if calls[1].Method != "PATCH" || !strings.HasSuffix(calls[1].Path, "/messages/@original") {
		t.Fatalf("search answered with %s %s", calls[1].Method, calls[1].Path)
	}
	edit := decode(t, calls[1].Body)
	if n := len(edit["embeds"].([]any)); n != 2 {
		t.Errorf("got %d embeds, want 2", n)
	}
	if s := string(calls[1].Body); !strings.Contains(s, `"custom_id":"story:42"`) || strings.Contains(s, "story:43") {
		t.Errorf("buttons wrong: %s", s)
	}
	if r := h.requests(); len(r) != 1 || r[0].Args != "budget" || r[0].UserID != "111" {
		t.Errorf("requests %+v", r)
	}

	it, _ = e.srv.SlashCommand(guild, "latest", discordtest.Option{Name: "count", Value: 3})
	if _, err := e.srv.WaitResponses(it, 2, wait); err != nil {
		t.Fatal(err)
	}
	if r := h.requests(); r[1].Command != "latest" || r[1].Args != "3" {
		t.Errorf("latest request %+v", r[1])
	}
}

func TestStoryAutocomplete(t *testing.T) {
	var mu sync.Mutex
	var prefixes []string
	e := newEnv(t, func(c *Config) {
		c.Autocomplete = func(_ context.Context, prefix string) []Choice {
			mu.Lock()
			prefixes = append(prefixes, prefix)
			mu.Unlock()
			return []Choice{{Name: "Council approves budget", Value: "42"}, {Name: strings.Repeat("x", 150), Value: "43"}}
		}
	})
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { return bots.Reply{} }})
	it, _ := e.srv.Autocomplete(guild, "story", discordtest.Option{Name: "id", Value: "coun", Focused: true})
	calls, err := e.srv.WaitResponses(it, 1, wait)
	if err != nil {
		t.Fatal(err)
	}
	r := decode(t, calls[0].Body)
	choices := r["data"].(map[string]any)["choices"].([]any)
	if r["type"] != 8.0 || len(choices) != 2 || choices[0].(map[string]any)["value"] != "42" {
		t.Errorf("autocomplete answer %s", calls[0].Body)
	}
	if n := len([]rune(choices[1].(map[string]any)["name"].(string))); n > 100 {
		t.Errorf("choice name of %d characters", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(prefixes, []string{"coun"}) {
		t.Errorf("prefixes %v", prefixes)
	}
}

func TestNoticesGoToOtherAccounts(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply {
		return bots.Reply{Blocks: bots.Text("Linked."), Personal: true,
			Notices: []bots.Notice{{UserID: "old-account", Blocks: bots.Text("Your subscription was linked to another account.")}}}
	}})
	it, _ := e.srv.SlashCommand(guild, "link", discordtest.Option{Name: "code", Value: "X"})
	if _, err := e.srv.WaitResponses(it, 1, wait); err != nil {
		t.Fatal(err)
	}
	calls, err := e.srv.WaitCalls("POST", "/channels/*", 1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if dm := e.srv.DMChannel("old-account"); dm == "" || calls[0].Path != "/channels/"+dm+"/messages" {
		t.Errorf("notice went to %s, want the DM of old-account (%q)", calls[0].Path, dm)
	}
}

func TestSendOpensDMOnce(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	msgs := article(2)
	ref, err := e.bot.Send(ctx, bots.Recipient{UserID: "u1"}, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if ref.ChatID == "" || ref.ChatID != e.srv.DMChannel("u1") || len(ref.MessageIDs) != len(msgs) {
		t.Errorf("ref %+v", ref)
	}
	if _, err := e.bot.Send(ctx, bots.Recipient{UserID: "u1"}, msgs[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.bot.Send(ctx, bots.Recipient{UserID: "u2", DMChat: "777"}, msgs[:1]); err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.CallsTo("POST", "/users/@me/channels")); n != 1 {
		t.Errorf("opened %d DM channels, want 1", n)
	}
	if n := len(e.srv.CallsTo("POST", "/channels/777/messages")); n != 1 {
		t.Errorf("the stored DM channel got %d messages, want 1", n)
	}
}

func TestSendKeepsAcknowledgedParts(t *testing.T) {
	e := newEnv(t, nil)
	msgs := article(3)
	if len(msgs) < 3 {
		t.Fatalf("article split into %d parts, want ≥ 3", len(msgs))
	}
	e.srv.Fail(discordtest.Failure{Method: "POST", Path: "/channels/555/messages", Status: 500, Skip: 1})
	ref, err := e.bot.Send(context.Background(), bots.Recipient{UserID: "u", DMChat: "555"}, msgs)
	var ra *bots.RetryAfter
	if !errors.As(err, &ra) {
		t.Fatalf("err = %v, want RetryAfter", err)
	}
	if ref.ChatID != "555" || len(ref.MessageIDs) != 1 {
		t.Errorf("ref %+v, want the first part acknowledged", ref)
	}
	e.srv.CloseDMs("reader")
	ref, err = e.bot.Send(context.Background(), bots.Recipient{UserID: "reader"}, msgs)
	if !errors.Is(err, bots.ErrUnreachable) || ref.ChatID == "" {
		t.Errorf("closed DMs: ref %+v err %v, want ErrUnreachable with the chat id", ref, err)
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name       string
		fail       discordtest.Failure
		unreach    bool
		rejected   bool
		retry      bool
		after      time.Duration
		global     bool
		operatorLg bool
	}{
		{"dms closed", discordtest.Failure{Status: 403, Code: discordtest.CodeCannotDM}, true, false, false, 0, false, true},
		{"missing permissions", discordtest.Failure{Status: 403, Code: discordtest.CodeMissingPermissions}, true, false, false, 0, false, true},
		{"missing access", discordtest.Failure{Status: 403, Code: discordtest.CodeMissingAccess}, true, false, false, 0, false, true},
		{"unknown channel", discordtest.Failure{Status: 404, Code: discordtest.CodeUnknownChannel}, true, false, false, 0, false, true},
		{"route 429", discordtest.Failure{Status: 429, RetryAfter: 1500 * time.Millisecond}, false, false, true, 1500 * time.Millisecond, false, false},
		{"global 429", discordtest.Failure{Status: 429, RetryAfter: 2 * time.Second, Global: true}, false, false, true, 2 * time.Second, true, false},
		{"429 of unknown scope counts as global", discordtest.Failure{Status: 429, RetryAfter: 1500 * time.Millisecond, Unscoped: true}, false, false, true, 1500 * time.Millisecond, true, false},
		{"server error", discordtest.Failure{Status: 500}, false, false, true, 0, false, false},
		{"bad gateway", discordtest.Failure{Status: 502}, false, false, true, 0, false, false},
		{"invalid form body", discordtest.Failure{Status: 400, Code: 50035, Message: "Invalid Form Body"}, false, true, false, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			tc.fail.Method, tc.fail.Path = "POST", "/channels/9001/messages"
			e.srv.Fail(tc.fail)
			_, err := e.bot.Post(context.Background(), "9001", testCard())
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, bots.ErrUnreachable) != tc.unreach || errors.Is(err, bots.ErrRejected) != tc.rejected {
				t.Errorf("err = %v", err)
			}
			var ra *bots.RetryAfter
			if errors.As(err, &ra) != tc.retry {
				t.Fatalf("err = %v, retry want %v", err, tc.retry)
			}
			if tc.retry && (ra.After != tc.after || (tc.after > 0 && ra.Global != tc.global)) {
				t.Errorf("RetryAfter %+v, want after %v global %v", ra, tc.after, tc.global)
			}
			if logged := strings.Contains(e.logs.String(), "level=ERROR"); logged != tc.operatorLg {
				t.Errorf("operator-visible error logged = %v, want %v", logged, tc.operatorLg)
			}
			// Nothing was retried behind the dispatcher's back.
			if n := len(e.srv.CallsTo("POST", "/channels/9001/messages")); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
			// After a 429 the next post goes through: nothing is lost.
			if _, err := e.bot.Post(context.Background(), "9001", testCard()); err != nil {
				t.Errorf("second post: %v", err)
			}
		})
	}
}

func TestTokenRedacted(t *testing.T) {
	b := &Bot{token: testToken}
	in := "Post \"https://discord.com/api/v9/interactions/123/aW50ZXJhY3Rpb24/callback\": x; PATCH /webhooks/1/aW50/messages/@original " + testToken
	out := b.redact(in)
	for _, secret := range []string{testToken, "aW50ZXJhY3Rpb24", "aW50/"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q survives in %q", secret, out)
		}
	}
}

func TestPostByChannelName(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.GuildID = "555" })
	e.srv.AddChannel("555", "8001", "News")
	ctx := context.Background()
	for _, name := range []string{"#news", "news"} {
		ref, err := e.bot.Post(ctx, name, testCard())
		if err != nil || ref.ChatID != "8001" {
			t.Fatalf("Post(%q) = %+v, %v", name, ref, err)
		}
	}
	if n := len(e.srv.CallsTo("GET", "/guilds/555/channels")); n != 1 {
		t.Errorf("listed the guild's channels %d times, want 1", n)
	}
	if _, err := e.bot.Post(ctx, "sports", testCard()); !errors.Is(err, bots.ErrUnreachable) {
		t.Errorf("unknown channel name: %v, want ErrUnreachable", err)
	}
	noGuild := newEnv(t, nil)
	if _, err := noGuild.bot.Post(ctx, "news", testCard()); !errors.Is(err, bots.ErrUnreachable) {
		t.Errorf("name without guild: %v, want ErrUnreachable", err)
	}
}

func TestStoryInDMUsesThatChannel(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { return bots.Reply{Article: article(1), Personal: true} }})
	it, _ := e.srv.SlashCommand(discordtest.From{UserID: "111", ChannelID: "4444"}, "story", discordtest.Option{Name: "id", Value: "42"})
	if _, err := e.srv.WaitResponses(it, 2, wait); err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.CallsTo("POST", "/channels/4444/messages")); n != 1 {
		t.Errorf("the DM the command came from got %d messages, want 1", n)
	}
	if n := len(e.srv.CallsTo("POST", "/users/@me/channels")); n != 0 {
		t.Errorf("opened %d DM channels although the command came from the DM", n)
	}
}

func TestLongReplyFollowsUp(t *testing.T) {
	e := newEnv(t, nil)
	long := bots.Text(strings.Repeat("a ", 700), strings.Repeat("b ", 700), strings.Repeat("c ", 700))
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { return bots.Reply{Blocks: long} }})
	it, _ := e.srv.SlashCommand(guild, "help")
	// Three paragraphs of 1400 characters: an answer and two follow-ups.
	calls, err := e.srv.WaitResponses(it, 3, wait)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || calls[1].Method != "POST" || !strings.Contains(calls[1].Query, "wait=true") {
		t.Fatalf("answers: %+v", calls)
	}
	for i, c := range calls {
		m := decode(t, c.Body)
		if i == 0 {
			m = m["data"].(map[string]any)
		}
		if n := len([]rune(m["content"].(string))); n > MaxContent {
			t.Errorf("answer %d has %d characters", i, n)
		}
	}
}

func TestManyStoriesRespectEmbedLimits(t *testing.T) {
	e := newEnv(t, nil)
	var cards []bots.StoryCard
	for i := 0; i < 23; i++ {
		c := testCard()
		c.StoryID, c.Summary = int64(100+i), strings.Repeat("Long summary sentence. ", 200)
		cards = append(cards, c)
	}
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { return bots.Reply{Stories: cards} }})
	it, _ := e.srv.SlashCommand(guild, "latest", discordtest.Option{Name: "count", Value: 10})
	// About 570 characters an embed: 10 + 10 + 3 embeds after the deferral.
	calls, err := e.srv.WaitResponses(it, 4, wait)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range calls[1:] {
		total += len(decode(t, c.Body)["embeds"].([]any))
	}
	if total != len(cards) {
		t.Fatalf("%d embeds delivered, want %d", total, len(cards))
	}
	for _, c := range e.srv.Responses(it)[1:] {
		var m struct {
			Embeds []struct {
				Title, Description string
				Author, Footer     struct{ Name, Text string }
			}
			Components []struct{ Components []any }
		}
		if err := json.Unmarshal(c.Body, &m); err != nil {
			t.Fatal(err)
		}
		size := 0
		for _, e := range m.Embeds {
			size += len([]rune(e.Title + e.Description + e.Author.Name + e.Footer.Text))
		}
		if len(m.Embeds) > 10 || size > 6000 || len(m.Components) > 5 {
			t.Errorf("message with %d embeds, %d characters, %d rows", len(m.Embeds), size, len(m.Components))
		}
	}
}

func TestErrorReplyIsEphemeral(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { return bots.Reply{Blocks: bots.Text("Unknown command."), Error: true} }})
	it, _ := e.srv.SlashCommand(guild, "help")
	calls, err := e.srv.WaitResponses(it, 1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if data := decode(t, calls[0].Body)["data"].(map[string]any); data["flags"] != 64.0 {
		t.Errorf("error answer flags %v, want 64", data["flags"])
	}
}

func TestHandlerPanicBecomesErrorReply(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t, &recorder{reply: func(bots.Request) bots.Reply { panic("boom") }})
	it, _ := e.srv.SlashCommand(guild, "status")
	calls, err := e.srv.WaitResponses(it, 1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if data := decode(t, calls[0].Body)["data"].(map[string]any); data["flags"] != 64.0 || !strings.Contains(data["content"].(string), "went wrong") {
		t.Errorf("answer %v", data)
	}
}
