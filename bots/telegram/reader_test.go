package telegram

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldnews/herald/bots"
	"github.com/heraldnews/herald/bots/telegram/telegramtest"
	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

// readerEnv is the Telegram adapter wired to the real reader commands on a fresh store.
type readerEnv struct {
	*env
	st   *store.Store
	logs *testutil.SyncBuffer
}

func newReaderEnv(t *testing.T) *readerEnv {
	t.Helper()
	e := newEnv(t, func(c *Config) { c.Workers = 1 })
	st, err := store.Open(filepath.Join(t.TempDir(), "reader.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &testutil.SyncBuffer{}
	cmds := bots.NewCommands(st, bots.CommandOptions{
		SiteName: "The Valley Herald", SubscribeURL: "https://valley.example/subscribe",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	e.run(t, cmds)
	return &readerEnv{env: e, st: st, logs: logs}
}

func (e *readerEnv) subscription(t *testing.T, extID, status string) store.Subscription {
	t.Helper()
	sub, _, err := e.st.UpsertSubscription(context.Background(), store.Subscription{
		ExternalID: extID, Plan: "digital", Status: status, CurrentPeriodEnd: time.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func (e *readerEnv) mint(t *testing.T, sub store.Subscription) string {
	t.Helper()
	code, _, err := e.st.MintLinkCode(context.Background(), sub.ID, "telegram", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, form := range []string{code, store.FormatLinkCode(code)} {
			if strings.Contains(e.logs.String(), form) || strings.Contains(e.env.logs.String(), form) {
				t.Errorf("link code %s appears in the logs", form)
			}
		}
	})
	return code
}

// say sends text from user in chat and returns the plain text of the next n messages to wantChat.
func (e *readerEnv) say(t *testing.T, chat int64, chatType string, user int64, text, wantChat string, n int) string {
	t.Helper()
	before := len(e.srv.Sent(wantChat))
	e.srv.PushUpdate(telegramtest.TextUpdate(chat, chatType, user, text))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s := e.srv.Sent(wantChat); len(s) >= before+n {
			var b strings.Builder
			for _, m := range s[before:] {
				b.WriteString(m.Plain + "\n")
			}
			return b.String()
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%q: chat %s got %d new messages, want %d", text, wantChat, len(e.srv.Sent(wantChat))-before, n)
	return ""
}

func linkedUser(t *testing.T, st *store.Store, user string) (store.Subscription, bool) {
	t.Helper()
	_, sub, err := st.LinkFor(context.Background(), "telegram", user)
	return sub, err == nil
}

// TestReaderLinkingThroughTelegram walks a reader through linking as Telegram delivers it:
// every way of typing a code, /cmd@ThisBot, a code leaked in a group, the lock-out and relinking.
func TestReaderLinkingThroughTelegram(t *testing.T) {
	e := newReaderEnv(t)
	sub := e.subscription(t, "cus_1", "active")
	cases := []struct {
		name string
		text func(code string) string
	}{
		{"deep link payload", func(c string) string { return "/start " + c }},
		{"typed with dash", func(c string) string { return "/link " + store.FormatLinkCode(c) }},
		{"lower case", func(c string) string { return "/link " + strings.ToLower(store.FormatLinkCode(c)) }},
		{"spaces", func(c string) string { return "/link " + c[:3] + " " + c[3:7] + " " + c[7:] }},
		{"addressed to this bot", func(c string) string { return "/link@" + testUsername + " " + c }},
		{"start addressed to this bot", func(c string) string { return "/start@" + strings.ToLower(testUsername) + " " + c }},
		{"O I L read as 0 1 1", func(c string) string {
			return "/link " + strings.NewReplacer("0", "O", "1", "l").Replace(strings.ToLower(c))
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user := int64(1000 + i)
			uid := itoa(user)
			code := e.mint(t, sub)
			got := e.say(t, user, "private", user, tc.text(code), uid, 1)
			if !strings.Contains(got, "Linked!") {
				t.Fatalf("reply = %q, want linked", got)
			}
			if _, ok := linkedUser(t, e.st, uid); !ok {
				t.Fatalf("user %s is not linked", uid)
			}
		})
	}

	// Each link above moved the subscription: the previous account heard about it.
	if got := e.srv.Sent(itoa(1000)); len(got) < 2 || !strings.Contains(got[len(got)-1].Plain, "linked to another account") {
		t.Errorf("the old account was not told of the move: %+v", got)
	}
	if _, ok := linkedUser(t, e.st, itoa(1000)); ok {
		t.Error("the old account is still linked after the move")
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestReaderCommandsThroughTelegram checks the replies a reader sees for each command and
// situation, in order, against the real commands and store.
func TestReaderCommandsThroughTelegram(t *testing.T) {
	e := newReaderEnv(t)
	ctx := context.Background()
	sub := e.subscription(t, "cus_2", "active")
	st, _, err := e.st.UpsertStory(ctx, store.Story{Origin: "cli", GUID: "g1", Title: "Bridge reopens", URL: "https://valley.example/bridge",
		Summary: "The bridge reopened.", Body: store.BodyFromText("Only subscribers read that the repairs took 140 tonnes of stone.\n\nMore text."),
		PublishedAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	storyArg := itoa(st.ID)
	const reader, group = int64(501), int64(-600)
	uid := itoa(reader)
	code := e.mint(t, sub)

	steps := []struct {
		name             string
		chat             int64
		chatType         string
		from             int64
		text             string
		replyTo          string
		n                int
		want, notWant    []string
		linked, unlinked bool
	}{
		{name: "plain private text gets a hint", chat: reader, chatType: "private", from: reader, text: "hello there", replyTo: uid, n: 1, want: []string{"/help"}},
		{name: "start without payload welcomes", chat: reader, chatType: "private", from: reader, text: "/start", replyTo: uid, n: 1, want: []string{"Welcome", "/link"}},
		{name: "unknown command is explained", chat: reader, chatType: "private", from: reader, text: "/frobnicate", replyTo: uid, n: 1, want: []string{"/frobnicate", "/latest"}},
		{name: "status unlinked", chat: reader, chatType: "private", from: reader, text: "/status", replyTo: uid, n: 1, want: []string{"not linked"}},
		{name: "story unlinked gets the summary and how to link", chat: reader, chatType: "private", from: reader, text: "/story " + storyArg, replyTo: uid, n: 1,
			want: []string{"Bridge reopens", "/link", "valley.example/subscribe"}, notWant: []string{"140 tonnes"}},
		{name: "code in a group is revoked", chat: group, chatType: "group", from: reader, text: "/link " + store.FormatLinkCode(code), replyTo: itoa(group), n: 1,
			want: []string{"cancelled", "private chat"}, unlinked: true},
		{name: "the revoked code no longer links", chat: reader, chatType: "private", from: reader, text: "/link " + code, replyTo: uid, n: 1,
			want: []string{"didn't work"}, unlinked: true},
		{name: "status in a group is refused", chat: group, chatType: "supergroup", from: reader, text: "/status@" + testUsername, replyTo: itoa(group), n: 1, want: []string{"private chat"}},
		{name: "help", chat: reader, chatType: "private", from: reader, text: "/help", replyTo: uid, n: 1, want: []string{"/search", "/link CODE"}},
	}
	for _, s := range steps {
		got := e.say(t, s.chat, s.chatType, s.from, s.text, s.replyTo, s.n)
		for _, w := range s.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: reply lacks %q:\n%s", s.name, w, got)
			}
		}
		for _, w := range s.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: reply contains %q:\n%s", s.name, w, got)
			}
		}
		if _, ok := linkedUser(t, e.st, uid); s.unlinked && ok {
			t.Errorf("%s: reader is linked", s.name)
		}
	}

	// A fresh code links; then status, pause/resume, story in full, unlink.
	code = e.mint(t, sub)
	linked := []struct {
		name          string
		text          string
		n             int
		want, notWant []string
	}{
		{"link", "/start " + code, 1, []string{"Linked!", "digital"}, nil},
		{"status linked", "/status", 1, []string{"digital", "Full articles: yes, until", "on"}, nil},
		{"pause", "/pause", 1, []string{"Paused"}, nil},
		{"status paused", "/status", 1, []string{"paused"}, nil},
		{"resume", "/resume", 1, []string{"Resumed"}, nil},
		{"latest", "/latest", 1, []string{"Bridge reopens", "/story " + storyArg}, []string{"140 tonnes"}},
		{"search", "/search bridge", 1, []string{"Bridge reopens"}, nil},
		{"search nothing", "/search zebra", 1, []string{"No stories match"}, nil},
		{"story in full", "/story " + storyArg, 1, []string{"140 tonnes"}, nil},
		{"deep link story in full", "/start story_" + storyArg, 1, []string{"140 tonnes"}, nil},
		{"unlink", "/unlink", 1, []string{"Unlinked"}, nil},
		{"story after unlink", "/story " + storyArg, 1, []string{"/link"}, []string{"140 tonnes"}},
	}
	for _, s := range linked {
		got := e.say(t, reader, "private", reader, s.text, uid, s.n)
		for _, w := range s.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: reply lacks %q:\n%s", s.name, w, got)
			}
		}
		for _, w := range s.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: reply contains %q:\n%s", s.name, w, got)
			}
		}
	}
	for _, m := range e.srv.Sent(uid) {
		if strings.Contains(m.Plain, "140 tonnes") && !strings.Contains(m.LinkPreview, `"is_disabled":true`) {
			t.Errorf("article DM with link previews on: %s", m.LinkPreview)
		}
	}
	if _, ok := linkedUser(t, e.st, uid); ok {
		t.Error("still linked after /unlink")
	}
	if testing.Verbose() {
		for _, m := range e.srv.Sent() {
			t.Logf("→ %s: %s", m.ChatID, m.Plain)
		}
	}
}

// TestReaderLockedOutThroughTelegram: five wrong codes lock the reader out with a reply that
// says when to try again, and even a good code is refused until then.
func TestReaderLockedOutThroughTelegram(t *testing.T) {
	e := newReaderEnv(t)
	sub := e.subscription(t, "cus_3", "active")
	const reader = int64(700)
	uid := itoa(reader)
	for i := range 5 {
		got := e.say(t, reader, "private", reader, "/link ZZZZZ-ZZZZ"+itoa(int64(i)), uid, 1)
		if !strings.Contains(got, "didn't work") {
			t.Fatalf("attempt %d: %q", i+1, got)
		}
	}
	code := e.mint(t, sub)
	got := e.say(t, reader, "private", reader, "/link "+code, uid, 1)
	if !strings.Contains(got, "try again after") || !strings.Contains(got, "UTC") {
		t.Errorf("locked-out reply does not say when to try again: %q", got)
	}
	if _, ok := linkedUser(t, e.st, uid); ok {
		t.Error("a locked-out reader was linked")
	}
}

// TestBlockedReaderReachableAgain: a reader whose link was marked unreachable (they blocked the
// bot) is reachable again as soon as they write to it, command or not.
func TestBlockedReaderReachableAgain(t *testing.T) {
	e := newReaderEnv(t)
	ctx := context.Background()
	sub := e.subscription(t, "cus_4", "active")
	const reader = int64(800)
	uid := itoa(reader)
	e.say(t, reader, "private", reader, "/link "+e.mint(t, sub), uid, 1)
	for _, text := range []string{"hi again", "/start"} {
		if err := e.st.MarkLinkUnreachable(ctx, "telegram", uid, "Forbidden: bot was blocked by the user"); err != nil {
			t.Fatal(err)
		}
		e.say(t, reader, "private", reader, text, uid, 1)
		if l, _, err := e.st.LinkFor(ctx, "telegram", uid); err != nil || !l.Reachable() {
			t.Errorf("after %q the link is still unreachable (%v)", text, err)
		}
	}
}

// TestStoryAskedInGroup: an entitled reader asking in a group gets the article privately and
// the group hears so; when the bot cannot write to them privately the group hears how to fix it.
func TestStoryAskedInGroup(t *testing.T) {
	e := newReaderEnv(t)
	ctx := context.Background()
	sub := e.subscription(t, "cus_5", "active")
	st, _, err := e.st.UpsertStory(ctx, store.Story{Origin: "cli", GUID: "g5", Title: "Dam report", URL: "https://valley.example/dam",
		Summary: "A report.", Body: store.BodyFromText("Subscribers learn the dam holds 3 million cubic metres."), PublishedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	const group = int64(-900)
	cases := []struct {
		name    string
		reader  int64
		blocked bool
		want    string
		gotDM   bool
	}{
		{"reachable reader", 901, false, "sent you the full article", true},
		{"reader who never started the bot", 902, true, "press Start", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			uid := itoa(tc.reader)
			e.say(t, tc.reader, "private", tc.reader, "/link "+e.mint(t, sub), uid, 1)
			if tc.blocked {
				e.srv.FailChat(uid, telegramtest.Blocked)
				defer e.srv.ClearChat(uid)
			}
			before := len(e.srv.Sent(uid))
			got := e.say(t, group, "supergroup", tc.reader, "/story "+itoa(st.ID), itoa(group), 1)
			if !strings.Contains(got, tc.want) || strings.Contains(got, "3 million") {
				t.Errorf("group reply = %q, want %q and no article text", got, tc.want)
			}
			dms := e.srv.Sent(uid)[before:]
			if gotDM := len(dms) > 0 && strings.Contains(dms[0].Plain, "3 million"); gotDM != tc.gotDM {
				t.Errorf("article DM delivered = %v, want %v", gotDM, tc.gotDM)
			}
		})
	}
}

// TestGroupUnknownCommands: in a group shared with other bots, an unknown command is only
// answered when it is addressed to this bot by name.
func TestGroupUnknownCommands(t *testing.T) {
	e := newReaderEnv(t)
	const group, reader = int64(-1000), int64(1001)
	gid := itoa(group)
	e.srv.PushUpdate(telegramtest.TextUpdate(group, "supergroup", reader, "/settings"))
	got := e.say(t, group, "supergroup", reader, "/settings@"+testUsername, gid, 1)
	if !strings.Contains(got, "don't know the command /settings") {
		t.Errorf("reply = %q", got)
	}
	if n := len(e.srv.Sent(gid)); n != 1 {
		t.Errorf("%d replies in the group, want 1 (only to the addressed command)", n)
	}
}
