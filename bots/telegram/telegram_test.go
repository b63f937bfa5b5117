package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/bots/telegram/telegramtest"
	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const (
	testToken    = "4242:fake-token-for-herald-tests"
	tokenSecret  = "AAHfake_Token-For_Tests_0123456789ab"
	testUsername = "HeraldTestBot"
)

// checkNoToken fails the test when text holds the token or its secret part.
func checkNoToken(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, tokenSecret) {
		t.Errorf("%s contains the bot token: %s", what, text)
	}
}

type env struct {
	srv  *telegramtest.Server
	bot  *Bot
	logs *testutil.SyncBuffer
}

// newEnv starts a fake Bot API and a Bot connected to it; logs are checked for the token at the end.
func newEnv(t *testing.T, mods ...func(*Config)) *env {
	t.Helper()
	srv := telegramtest.NewServer(testToken, testUsername)
	t.Cleanup(srv.Close)
	logs := &testutil.SyncBuffer{}
	cfg := Config{
		Token: testToken, APIURL: srv.URL, PollTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mods {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { checkNoToken(t, "logs", logs.String()) })
	return &env{srv: srv, bot: b, logs: logs}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// run starts b.Run and stops it at the end of the test.
func (e *env) run(t *testing.T, h bots.Handler) {
	t.Helper()
	testutil.Background(t, 10*time.Second, func(ctx context.Context) error { return e.bot.Run(ctx, h) })
}

func TestNewStartup(t *testing.T) {
	e := newEnv(t)
	if got := e.bot.Username(); got != testUsername {
		t.Errorf("username = %q, want %q from getMe", got, testUsername)
	}
	calls := e.srv.Calls("setMyCommands")
	if len(calls) != 1 {
		t.Fatalf("setMyCommands calls = %d, want 1", len(calls))
	}
	var cmds []struct{ Command, Description string }
	if err := json.Unmarshal([]byte(calls[0].Params["commands"]), &cmds); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cmds {
		names = append(names, c.Command)
		if c.Description == "" {
			t.Errorf("command %s without description", c.Command)
		}
	}
	want := []string{"link", "unlink", "status", "latest", "search", "story", "pause", "resume", "help"}
	if !slices.Equal(names, want) {
		t.Errorf("commands = %v, want %v", names, want)
	}
	l := e.bot.Limits()
	if l.MaxText != 4096 || l.Measure == nil || l.GlobalRate != 30 || l.PerChatRate != 1 || l.PerChatBurst != 3 || l.PerChannelRate != 20.0/60 {
		t.Errorf("limits = %+v", l)
	}
}

func TestNewConfigurableRates(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.GlobalRate, c.PerChatRate, c.PerChannelRate, c.PerChannelBurst = 10, 0.5, 0.1, 1 })
	l := e.bot.Limits()
	if l.GlobalRate != 10 || l.PerChatRate != 0.5 || l.PerChannelRate != 0.1 || l.PerChannelBurst != 1 || l.GlobalBurst != DefaultGlobalBurst {
		t.Errorf("limits = %+v", l)
	}
}

func TestNewRejectedToken(t *testing.T) {
	srv := telegramtest.NewServer("42:another_token_entirely", testUsername)
	defer srv.Close()
	logs := &testutil.SyncBuffer{}
	_, err := New(testCtx(t), Config{Token: testToken, APIURL: srv.URL, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err == nil {
		t.Fatal("New with a wrong token succeeded")
	}
	if !strings.Contains(err.Error(), "rejected the bot token") {
		t.Errorf("error does not say the token was rejected: %v", err)
	}
	checkNoToken(t, "error", err.Error())
	checkNoToken(t, "logs", logs.String())

	// An unreachable API server is a different, equally token-free error.
	srv.Close()
	_, err = New(testCtx(t), Config{Token: testToken, APIURL: srv.URL})
	if err == nil || strings.Contains(err.Error(), "rejected") {
		t.Fatalf("New against a closed server: %v", err)
	}
	checkNoToken(t, "error", err.Error())
}

func TestNewNoToken(t *testing.T) {
	if _, err := New(context.Background(), Config{Token: "  "}); err == nil {
		t.Fatal("New without a token succeeded")
	}
}

// goldenCard has every kind of character that needs escaping in every field.
func goldenCard() bots.StoryCard {
	return bots.StoryCard{
		StoryID:     42,
		Title:       `Council's "<b>night</b>" vote & the 5 > 3 rule`,
		Summary:     `The council voted 23 to 19 for the <script>alert('x')</script> pilot; riders & drivers say "finally".`,
		Byline:      "Ana <Ed> Reyes & Co",
		URL:         "https://example.org/news/night-tram?id=1&lang=en",
		SiteName:    "Example & Sons",
		PublishedAt: time.Date(2025, 3, 14, 23, 30, 0, 0, time.FixedZone("X", 2*3600)),
		HasFullText: true,
	}
}

func TestPostGolden(t *testing.T) {
	long := goldenCard()
	long.ImageURL = "https://img.example.org/tram.jpg"
	long.Summary = strings.Repeat("A long summary sentence with <angle> brackets & ampersands. ", 25)
	photo := goldenCard()
	photo.ImageURL = "https://img.example.org/tram.jpg"
	noFull := goldenCard()
	noFull.HasFullText = false
	noFull.Byline = ""
	tests := []struct {
		name    string
		channel string
		card    bots.StoryCard
		fail    map[string]telegramtest.Failure
		chatID  string
	}{
		{name: "text_channel", channel: "@heraldnews", card: goldenCard()},
		{name: "photo_supergroup", channel: "-1001234567890", card: photo, chatID: "-1001234567890"},
		{name: "photo_caption_too_long", channel: "@heraldnews", card: long},
		{name: "photo_refused", channel: "@heraldnews", card: photo, fail: map[string]telegramtest.Failure{"sendPhoto": telegramtest.PhotoInvalid}},
		{name: "no_full_text_group", channel: "-4567", card: noFull, chatID: "-4567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for m, f := range tt.fail {
				e.srv.FailNext(m, f)
			}
			ref, err := e.bot.Post(testCtx(t), tt.channel, tt.card)
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			sent := e.srv.Sent()
			if len(sent) != 1 || len(ref.MessageIDs) != 1 || ref.MessageIDs[0] != fmt.Sprint(sent[0].MessageID) {
				t.Fatalf("ref %+v for sent %+v", ref, sent)
			}
			if tt.chatID != "" && ref.ChatID != tt.chatID {
				t.Errorf("ref chat = %q, want %q", ref.ChatID, tt.chatID)
			}
			if !strings.Contains(sent[0].Plain, tt.card.Title) {
				t.Errorf("the title does not survive escaping: %q", sent[0].Plain)
			}
			var golden strings.Builder
			for _, c := range e.srv.Calls("sendMessage", "sendPhoto") {
				fmt.Fprintf(&golden, "%s → %d\n", c.Method, c.Status)
				keys := make([]string, 0, len(c.Params))
				for k := range c.Params {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					v := c.Params[k]
					if k == "reply_markup" {
						var buf bytes.Buffer
						_ = json.Indent(&buf, []byte(v), "", "  ")
						v = buf.String()
					}
					fmt.Fprintf(&golden, "%s: %s\n", k, v)
				}
				golden.WriteString("\n")
			}
			fmt.Fprintf(&golden, "as shown:\n%s\n", sent[0].Plain)
			compareGolden(t, filepath.Join("testdata", "post_"+tt.name+".golden"), golden.String())
		})
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func testStory(t testing.TB) store.Story {
	title, body := loadArticle(t)
	return store.Story{
		ID: 7, Title: title, Byline: "Mara Lindqvist", URL: "https://example.org/n4",
		PublishedAt: time.Date(2025, 4, 2, 6, 0, 0, 0, time.UTC), Body: body,
	}
}

func TestSendLongArticle(t *testing.T) {
	e := newEnv(t)
	story := testStory(t)
	// Twice the article, so the split has several parts.
	story.Body = append(slices.Clone(story.Body), story.Body...)
	msgs := bots.ArticleMessages(story, e.bot.Limits())
	if len(msgs) < 3 {
		t.Fatalf("article split into %d messages, want several", len(msgs))
	}
	ref, err := e.bot.Send(testCtx(t), bots.Recipient{UserID: "1001"}, msgs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	sent := e.srv.Sent("1001")
	if len(sent) != len(msgs) || len(ref.MessageIDs) != len(msgs) || ref.ChatID != "1001" {
		t.Fatalf("sent %d, ref %+v, want %d parts", len(sent), ref, len(msgs))
	}
	var all strings.Builder
	var golden strings.Builder
	for i, s := range sent {
		if n := telegramtest.UTF16Len(s.Plain); n > MaxText || n != measure(msgs[i]) {
			t.Errorf("part %d: Telegram counts %d, Measure says %d, limit %d", i+1, n, measure(msgs[i]), MaxText)
		}
		if want := fmt.Sprintf("(%d/%d)", i+1, len(msgs)); !strings.HasSuffix(s.Plain, want) {
			t.Errorf("part %d does not end with %s", i+1, want)
		}
		if s.LinkPreview != `{"is_disabled":true}` {
			t.Errorf("part %d link_preview_options = %q", i+1, s.LinkPreview)
		}
		if ref.MessageIDs[i] != fmt.Sprint(s.MessageID) {
			t.Errorf("ref id %s for message %d", ref.MessageIDs[i], s.MessageID)
		}
		all.WriteString(s.Plain)
		fmt.Fprintf(&golden, "----- part %d (%d UTF-16 units)\n%s\n", i+1, telegramtest.UTF16Len(s.Plain), s.Text)
	}
	for _, blk := range story.Body {
		if !strings.Contains(all.String(), strings.TrimSpace(blk.Text())) {
			t.Errorf("block lost: %.60q", blk.Text())
		}
	}
	if !strings.HasPrefix(sent[0].Text, "<b>The night tram that stayed</b>") {
		t.Errorf("article does not start with its bold title: %.80q", sent[0].Text)
	}
	compareGolden(t, filepath.Join("testdata", "article.golden"), golden.String())
}

func TestSendPartialAck(t *testing.T) {
	e := newEnv(t)
	msgs := []bots.Message{
		{Blocks: bots.Text("one"), Part: 1, Total: 3},
		{Blocks: bots.Text("two"), Part: 2, Total: 3},
		{Blocks: bots.Text("three"), Part: 3, Total: 3},
	}
	f := telegramtest.ServerError
	f.After = 2
	e.srv.FailNext("sendMessage", f)
	ref, err := e.bot.Send(testCtx(t), bots.Recipient{UserID: "1001"}, msgs)
	var retry *bots.RetryAfter
	if !errors.As(err, &retry) {
		t.Fatalf("err = %v, want *bots.RetryAfter", err)
	}
	if len(ref.MessageIDs) != 2 {
		t.Fatalf("ref = %+v, want the 2 acknowledged parts", ref)
	}
	for i, s := range e.srv.Sent("1001") {
		if ref.MessageIDs[i] != fmt.Sprint(s.MessageID) {
			t.Errorf("ref id %s, sent %d", ref.MessageIDs[i], s.MessageID)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name    string
		fail    telegramtest.Failure
		post    bool
		check   func(error) bool
		wantFmt string
	}{
		{name: "blocked", fail: telegramtest.Blocked, check: isErr(bots.ErrUnreachable)},
		{name: "deactivated", fail: telegramtest.Deactivated, check: isErr(bots.ErrUnreachable)},
		{name: "kicked", fail: telegramtest.Kicked, post: true, check: isErr(bots.ErrUnreachable)},
		{name: "chat not found", fail: telegramtest.ChatNotFound, check: isErr(bots.ErrUnreachable)},
		{name: "can't parse entities", fail: telegramtest.CantParse, check: isErr(bots.ErrRejected)},
		{name: "other 400", fail: telegramtest.Failure{Code: 400, Description: "Bad Request: message is too long"}, check: isErr(bots.ErrRejected)},
		{name: "429", fail: telegramtest.TooManyRequests(7), check: func(err error) bool {
			var r *bots.RetryAfter
			return errors.As(err, &r) && r.After == 7*time.Second && r.Global
		}},
		{name: "500", fail: telegramtest.ServerError, check: func(err error) bool {
			var r *bots.RetryAfter
			return errors.As(err, &r) && r.After == 0 && !r.Global
		}},
		{name: "502", fail: telegramtest.Failure{Code: 502, Description: "Bad Gateway"}, check: func(err error) bool {
			var r *bots.RetryAfter
			return errors.As(err, &r) && r.After == 0
		}},
		{name: "401 revoked token", fail: telegramtest.Failure{Code: 401, Description: "Unauthorized"}, check: func(err error) bool {
			var r *bots.RetryAfter
			return errors.As(err, &r) && r.Global && r.After > 0
		}},
		{name: "migrated", fail: telegramtest.Migrated(-1009876543210), post: true, check: func(err error) bool {
			var m *bots.ChatMigrated
			return errors.As(err, &m) && m.NewChatID == "-1009876543210"
		}},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.srv.FailNext("sendMessage", tt.fail)
			var err error
			if tt.post {
				_, err = e.bot.Post(testCtx(t), "-4567", goldenCard())
			} else {
				_, err = e.bot.Send(testCtx(t), bots.Recipient{UserID: "1001"}, []bots.Message{{Blocks: bots.Text("hi")}})
			}
			if err == nil || !tt.check(err) {
				t.Fatalf("err = %#v (%v)", err, err)
			}
			checkNoToken(t, "error", err.Error())
		})
	}
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func TestErrorMappingTransport(t *testing.T) {
	e := newEnv(t)
	msgs := []bots.Message{{Blocks: bots.Text("hi")}}

	// A deadline that passes during the call: a timeout, retried later.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := e.bot.Send(ctx, bots.Recipient{UserID: "1001"}, msgs)
	var retry *bots.RetryAfter
	if !errors.As(err, &retry) {
		t.Fatalf("timeout: err = %v, want *bots.RetryAfter", err)
	}
	checkNoToken(t, "error", err.Error())

	// The API server gone: a network error, retried later, token redacted from the URL.
	e.srv.Close()
	_, err = e.bot.Send(testCtx(t), bots.Recipient{UserID: "1001"}, msgs)
	if !errors.As(err, &retry) {
		t.Fatalf("network: err = %v, want *bots.RetryAfter", err)
	}
	checkNoToken(t, "error", err.Error())
	_, err = e.bot.Post(testCtx(t), "@heraldnews", goldenCard())
	if !errors.As(err, &retry) {
		t.Fatalf("network post: err = %v, want *bots.RetryAfter", err)
	}
	checkNoToken(t, "error", err.Error())
}

func TestSendBadRecipient(t *testing.T) {
	e := newEnv(t)
	_, err := e.bot.Send(testCtx(t), bots.Recipient{UserID: "not-a-number"}, []bots.Message{{Blocks: bots.Text("x")}})
	if !errors.Is(err, bots.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if n := len(e.srv.Calls("sendMessage")); n != 0 {
		t.Errorf("%d sendMessage calls for an invalid recipient", n)
	}
}

func TestPhotoForbiddenDoesNotFallBack(t *testing.T) {
	e := newEnv(t)
	card := goldenCard()
	card.ImageURL = "https://img.example.org/a.jpg"
	e.srv.FailNext("sendPhoto", telegramtest.Kicked)
	_, err := e.bot.Post(testCtx(t), "@heraldnews", card)
	if !errors.Is(err, bots.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if n := len(e.srv.Calls("sendMessage")); n != 0 {
		t.Errorf("fell back to sendMessage %d times after a 403", n)
	}
}

// fakeHandler records requests and answers with reply.
type fakeHandler struct {
	mu    sync.Mutex
	reqs  []bots.Request
	got   chan bots.Request
	reply func(bots.Request) bots.Reply
}

func newFakeHandler(reply func(bots.Request) bots.Reply) *fakeHandler {
	return &fakeHandler{got: make(chan bots.Request, 100), reply: reply}
}

func (h *fakeHandler) Handle(_ context.Context, req bots.Request) bots.Reply {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	h.mu.Unlock()
	h.got <- req
	return h.reply(req)
}

func (h *fakeHandler) next(t *testing.T) bots.Request {
	t.Helper()
	select {
	case r := <-h.got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the handler")
		return bots.Request{}
	}
}

func TestRunCommands(t *testing.T) {
	story := testStory(t)
	card := goldenCard()
	card.StoryID = 1
	h := newFakeHandler(func(req bots.Request) bots.Reply {
		switch {
		case req.Command == "start" && req.Args == "K7Q2-MX4P":
			return bots.Reply{Blocks: bots.Text("Linked to <your> subscription & ready."), Personal: true,
				Notices: []bots.Notice{{UserID: "2002", Blocks: bots.Text("Your subscription was linked to another account.")}}}
		case req.Command == "start" && req.Args == "story_1":
			return bots.Reply{Blocks: bots.Text("The full article is for subscribers. Link yours with /link CODE."), Stories: []bots.StoryCard{card}}
		case req.Command == "story":
			return bots.Reply{Article: bots.ArticleMessages(story, req.Limits)}
		case req.Command == "":
			return bots.Reply{Blocks: bots.Text("Send /help for the commands.")}
		case !req.Private:
			return bots.Reply{Blocks: bots.Text("Send this to me privately."), Error: true}
		}
		return bots.Reply{Blocks: bots.Text("ok " + req.Command)}
	})
	e := newEnv(t, func(c *Config) { c.Workers = 1 })
	e.run(t, h)
	ctx := testCtx(t)
	if _, err := e.srv.WaitCalls(ctx, "getUpdates", 1); err != nil {
		t.Fatal(err)
	}
	if polls := e.srv.Calls("getUpdates"); polls[0].Params["timeout"] != "1" || polls[0].Params["allowed_updates"] != `["message"]` {
		t.Errorf("getUpdates params = %v, want the configured 1s poll timeout and messages only", polls[0].Params)
	}
	if n := len(e.srv.Calls("deleteWebhook")); n != 1 {
		t.Errorf("deleteWebhook calls = %d, want 1 before polling", n)
	}
	sentTo := func(chat string, n int) []telegramtest.Sent {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if s := e.srv.Sent(chat); len(s) >= n {
				return s
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("chat %s got %d messages, want %d", chat, len(e.srv.Sent(chat)), n)
		return nil
	}

	// /start with a link code: the payload reaches the handler, the reply and the notice arrive.
	e.srv.PushUpdate(telegramtest.TextUpdate(1001, "private", 1001, "/start K7Q2-MX4P"))
	req := h.next(t)
	want := bots.Request{Platform: "telegram", UserID: "1001", ChatID: "1001", Private: true, Command: "start", Args: "K7Q2-MX4P"}
	if req.Platform != want.Platform || req.UserID != want.UserID || req.ChatID != want.ChatID || req.Private != want.Private ||
		req.Command != want.Command || req.Args != want.Args || req.Limits.MaxText != MaxText || req.Limits.Measure == nil {
		t.Errorf("request = %+v, want %+v", req, want)
	}
	if s := sentTo("1001", 1); s[0].Plain != "Linked to <your> subscription & ready." || s[0].ParseMode != "HTML" {
		t.Errorf("reply = %+v", s[0])
	}
	if s := sentTo("2002", 1); !strings.Contains(s[0].Plain, "linked to another account") {
		t.Errorf("notice = %+v", s[0])
	}

	// The "Read the full article" deep link of an unlinked reader: explanation plus the story.
	e.srv.PushUpdate(telegramtest.TextUpdate(3003, "private", 3003, "/start story_1"))
	if req := h.next(t); req.Command != "start" || req.Args != "story_1" {
		t.Errorf("request = %+v", req)
	}
	s := sentTo("3003", 1)[0]
	if !strings.Contains(s.Plain, "for subscribers") || !strings.Contains(s.Plain, card.Title) ||
		!strings.Contains(s.Text, `<a href="https://example.org/news/night-tram?id=1&amp;lang=en">`) {
		t.Errorf("story reply = %q", s.Text)
	}

	// /link@ThisBot in private and /story sending the article as DMs.
	e.srv.PushUpdate(telegramtest.TextUpdate(4004, "private", 4004, "/link@HeraldTestBot abc-def"))
	if req := h.next(t); req.Command != "link" || req.Args != "abc-def" || !req.Private {
		t.Errorf("request = %+v", req)
	}
	sentTo("4004", 1)
	e.srv.PushUpdate(telegramtest.TextUpdate(4004, "private", 4004, "/story 7"))
	h.next(t)
	parts := bots.ArticleMessages(story, e.bot.Limits())
	if got := sentTo("4004", 1+len(parts)); len(got) != 1+len(parts) || !strings.HasPrefix(got[1].Text, "<b>The night tram") {
		t.Errorf("article DM: %d messages", len(got))
	}

	// In groups: another bot's command and chatter are ignored, a personal command is passed
	// with Private=false and answered in the group; a channel post is ignored.
	e.srv.PushUpdate(telegramtest.TextUpdate(-5005, "group", 6006, "/link@OtherBot K7Q2-MX4P"))
	e.srv.PushUpdate(telegramtest.TextUpdate(-5005, "group", 6006, "good morning all"))
	e.srv.PushUpdate(telegramtest.ChannelPostUpdate(-1007007, "/status"))
	e.srv.PushUpdate(telegramtest.TextUpdate(-5005, "supergroup", 6006, "/link@HeraldTestBot K7Q2-MX4P"))
	req = h.next(t)
	if req.Command != "link" || req.Private || req.ChatID != "-5005" || req.UserID != "6006" || req.Args != "K7Q2-MX4P" {
		t.Errorf("group request = %+v", req)
	}
	if g := sentTo("-5005", 1); len(g) != 1 || g[0].Plain != "Send this to me privately." {
		t.Errorf("group replies = %+v", g)
	}
	for _, c := range e.srv.Calls("sendMessage") {
		if c.Params["chat_id"] == "-5005" && !strings.Contains(c.Params["reply_parameters"], `"message_id"`) {
			t.Errorf("group reply is not a reply to the command: %v", c.Params)
		}
	}

	// Private text that is not a command reaches the handler as an empty command without its
	// text (it may be a code typed without /link), and its answer is sent.
	e.srv.PushUpdate(telegramtest.TextUpdate(8008, "private", 8008, "hello? K7Q2-MX4P"))
	if req := h.next(t); req.Command != "" || req.Args != "" || !req.Private || req.UserID != "8008" {
		t.Errorf("plain text request = %+v", req)
	}
	if s := sentTo("8008", 1); !strings.Contains(s[0].Plain, "/help") {
		t.Errorf("hint = %q", s[0].Plain)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) != 6 {
		t.Errorf("handler got %d requests, want 6: %+v", len(h.reqs), h.reqs)
	}
}

func TestRunPollingErrorsAreLoggedWithoutToken(t *testing.T) {
	e := newEnv(t)
	e.srv.FailNext("getUpdates", telegramtest.ServerError)
	e.run(t, newFakeHandler(func(bots.Request) bots.Reply { return bots.Reply{} }))
	if _, err := e.srv.WaitCalls(testCtx(t), "getUpdates", 2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), "getUpdates") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(e.logs.String(), "getUpdates") {
		t.Fatalf("polling error not logged:\n%s", e.logs.String())
	}
	// checkNoToken runs on the logs at cleanup.
}

func TestWebhook(t *testing.T) {
	var handler http.Handler
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer hook.Close()
	e := newEnv(t, func(c *Config) { c.WebhookURL = hook.URL + "/telegram/webhook" })
	handler = e.bot.WebhookHandler()
	h := newFakeHandler(func(req bots.Request) bots.Reply { return bots.Reply{Blocks: bots.Text("pong")} })
	upd := telegramtest.TextUpdate(1001, "private", 1001, "/status")
	body, _ := json.Marshal(upd)
	post := func(secret string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/telegram/webhook", bytes.NewReader(body))
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		handler.ServeHTTP(rec, req)
		return rec.Code
	}

	// Before Run: not accepting yet, Telegram will redeliver.
	if code := post(e.bot.cfg.WebhookSecret); code != http.StatusServiceUnavailable {
		t.Errorf("before Run: status %d, want 503", code)
	}
	e.run(t, h)
	ctx := testCtx(t)
	if _, err := e.srv.WaitCalls(ctx, "setWebhook", 1); err != nil {
		t.Fatal(err)
	}
	url, secret := e.srv.Webhook()
	if url != hook.URL+"/telegram/webhook" || len(secret) < 32 {
		t.Fatalf("setWebhook url %q, secret of %d characters", url, len(secret))
	}
	if n := len(e.srv.Calls("getUpdates")); n != 0 {
		t.Errorf("webhook mode polled getUpdates %d times", n)
	}

	for _, bad := range []string{"", "wrong", secret[:len(secret)-1], secret + "x"} {
		if code := post(bad); code != http.StatusForbidden {
			t.Errorf("secret %q: status %d, want 403", bad, code)
		}
	}
	h.mu.Lock()
	if len(h.reqs) != 0 {
		t.Errorf("updates with a wrong secret reached the handler: %+v", h.reqs)
	}
	h.mu.Unlock()

	// Telegram's delivery with the registered secret: handled, answered.
	code, err := e.srv.DeliverWebhook(ctx, upd)
	if err != nil || code != http.StatusOK {
		t.Fatalf("DeliverWebhook: %d, %v", code, err)
	}
	if req := h.next(t); req.Command != "status" || !req.Private {
		t.Errorf("request = %+v", req)
	}
	if s := e.srv.Sent("1001"); len(s) != 1 || s[0].Plain != "pong" {
		t.Errorf("reply = %+v", s)
	}
	if !strings.Contains(e.logs.String(), "wrong secret token") {
		t.Errorf("wrong secret not logged")
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Errorf("webhook secret logged")
	}
}

func TestWebhookHandlerOffInPollingMode(t *testing.T) {
	e := newEnv(t)
	rec := httptest.NewRecorder()
	e.bot.WebhookHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404 when webhook mode is off", rec.Code)
	}
}

func TestWebhookSecretValidated(t *testing.T) {
	srv := telegramtest.NewServer(testToken, testUsername)
	defer srv.Close()
	_, err := New(testCtx(t), Config{Token: testToken, APIURL: srv.URL, WebhookURL: "https://x.example/h", WebhookSecret: "has spaces!"})
	if err == nil || strings.Contains(err.Error(), "has spaces") {
		t.Fatalf("err = %v, want a validation error without the secret", err)
	}
}

func TestRunTwice(t *testing.T) {
	e := newEnv(t)
	h := newFakeHandler(func(bots.Request) bots.Reply { return bots.Reply{} })
	e.run(t, h)
	if _, err := e.srv.WaitCalls(testCtx(t), "getUpdates", 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.bot.Run(ctx, h); err == nil {
		t.Fatal("second Run succeeded")
	}
}
