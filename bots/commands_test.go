package bots

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldnews/herald/store"
)

// cmdEnv is a command handler on a fresh database with a movable clock and captured logs.
type cmdEnv struct {
	t     testing.TB
	st    *store.Store
	cmds  *Commands
	mu    sync.Mutex
	now   time.Time
	logs  *bytes.Buffer
	codes []string // every code minted, to prove none reaches the logs
}

func newCmdEnv(t testing.TB) *cmdEnv {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "cmd.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &cmdEnv{t: t, st: st, now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), logs: &bytes.Buffer{}}
	st.Now = e.clock
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs, mu: &e.mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.cmds = NewCommands(st, CommandOptions{SiteName: "The Daily Test", SubscribeURL: "https://news.example/subscribe", Logger: logger})
	t.Cleanup(func() {
		e.mu.Lock()
		logs := e.logs.String()
		e.mu.Unlock()
		for _, code := range e.codes {
			for _, form := range []string{code, store.FormatLinkCode(code), strings.ToLower(code)} {
				if strings.Contains(logs, form) {
					t.Errorf("a link code appears in the logs:\n%s", logs)
				}
			}
		}
		st.Close()
	})
	return e
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *cmdEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *cmdEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *cmdEnv) sub(extID, status string, end, grace time.Time) store.Subscription {
	e.t.Helper()
	sub, _, err := e.st.UpsertSubscription(context.Background(), store.Subscription{ExternalID: extID, Plan: "monthly", Status: status, CurrentPeriodEnd: end, GraceUntil: grace})
	if err != nil {
		e.t.Fatal(err)
	}
	return sub
}

func (e *cmdEnv) mint(subID int64, platform string) string {
	e.t.Helper()
	code, _, err := e.st.MintLinkCode(context.Background(), subID, platform, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.codes = append(e.codes, code)
	e.mu.Unlock()
	return code
}

var cmdLimits = Limits{MaxText: 500, Measure: func(m Message) int { return len(m.Blocks.PlainText()) + 10 }}

func (e *cmdEnv) do(user, command, args string) Reply {
	return e.cmds.Handle(context.Background(), Request{Platform: "telegram", UserID: user, ChatID: user, Private: true, Command: command, Args: args, Limits: cmdLimits})
}

func (e *cmdEnv) doIn(platform, user string, private bool, command, args string) Reply {
	return e.cmds.Handle(context.Background(), Request{Platform: platform, UserID: user, ChatID: "chat-" + user, Private: private, Command: command, Args: args, Limits: cmdLimits})
}

const cmdSecret = "Paragraph only subscribers may read"

// story stores a story with full text (or without, when extractErr is set) and returns its id.
func (e *cmdEnv) story(guid, title string, published time.Time, extractErr string) int64 {
	e.t.Helper()
	body := store.BodyFromText(cmdSecret + " in " + guid + ".\n\nSecond paragraph of " + title + ".")
	if extractErr != "" {
		body = nil
	}
	s, _, err := e.st.UpsertStory(context.Background(), store.Story{Origin: "cli", GUID: guid, Title: title, URL: "https://news.example/" + guid,
		Excerpt: "Excerpt of " + title, Summary: "Summary of " + title, Body: body, ExtractError: extractErr, PublishedAt: published})
	if err != nil {
		e.t.Fatal(err)
	}
	return s.ID
}

func text(r Reply) string {
	var b strings.Builder
	b.WriteString(r.Blocks.PlainText())
	for _, c := range r.Stories {
		b.WriteString("\n" + c.Title + "\n" + c.Summary)
	}
	for _, m := range r.Article {
		b.WriteString("\n" + m.Blocks.PlainText())
	}
	return b.String()
}

func hasFullText(r Reply) bool { return strings.Contains(text(r), cmdSecret) }

func TestCommandsReplies(t *testing.T) {
	e := newCmdEnv(t)
	e.story("a", "Alpha budget vote", e.clock().Add(-3*time.Hour), "")
	e.story("b", "Beta harbour plan", e.clock().Add(-2*time.Hour), "")
	nofull := e.story("c", "Gamma council budget", e.clock().Add(-time.Hour), "paywalled at source")

	tests := []struct {
		name      string
		command   string
		args      string
		wantErr   bool
		contains  string
		wantCards int
	}{
		{"help", "help", "", false, "/link CODE", 0},
		{"help slash and case", "/HELP", "", false, "/latest [n]", 0},
		{"unknown", "frobnicate", "", true, "I don't know the command /frobnicate", 0},
		{"start", "start", "", false, "Welcome", 0},
		{"latest default", "latest", "", false, "Latest stories", 3},
		{"latest n", "latest", "2", false, "Latest stories", 2},
		{"latest capped", "latest", "50", false, "Latest stories", 3},
		{"latest bad", "latest", "many", true, "from 1 to 10", 0},
		{"latest zero", "latest", "0", true, "from 1 to 10", 0},
		{"search", "search", "budget", false, "newest first", 2},
		{"search prefix", "search", "harb", false, "newest first", 1},
		{"search none", "search", "volcano", false, "No stories match", 0},
		{"search empty", "search", "", true, "what to look for", 0},
		{"search fts syntax", "search", `"budget*" (`, false, "newest first", 2},
		{"story bad", "story", "abc", true, "story number", 0},
		{"story missing", "story", "999", true, "no story 999", 0},
		{"story without text", "story", fmt.Sprint(nofull), false, "isn't available", 1},
		{"story unlinked", "story", "#1", false, "for subscribers", 1},
		{"start story unlinked", "start", "story_1", false, "for subscribers", 1},
		{"link empty", "link", "", true, "/link CODE", 0},
		{"status unlinked", "status", "", false, "not linked", 0},
		{"unlink unlinked", "unlink", "", false, "nothing to unlink", 0},
		{"pause unlinked", "pause", "", true, "not linked", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("u1", tc.command, tc.args)
			if r.Error != tc.wantErr {
				t.Errorf("Error = %v, want %v: %s", r.Error, tc.wantErr, text(r))
			}
			if len(r.Blocks) == 0 && len(r.Stories) == 0 {
				t.Fatal("silent reply")
			}
			if !strings.Contains(text(r), tc.contains) {
				t.Errorf("reply %q does not contain %q", text(r), tc.contains)
			}
			if len(r.Stories) != tc.wantCards {
				t.Errorf("%d cards, want %d", len(r.Stories), tc.wantCards)
			}
			if len(r.Article) > 0 || hasFullText(r) {
				t.Errorf("full text to an unlinked reader")
			}
		})
	}
	// search: newest relevant first
	r := e.do("u1", "search", "budget")
	if r.Stories[0].Title != "Gamma council budget" || r.Stories[1].Title != "Alpha budget vote" {
		t.Errorf("search order %q, %q", r.Stories[0].Title, r.Stories[1].Title)
	}
}

func TestCommandsLinkLifecycle(t *testing.T) {
	e := newCmdEnv(t)
	id := e.story("a", "Alpha", e.clock().Add(-time.Hour), "")
	sid := fmt.Sprint(id)
	sub := e.sub("cus_1", "active", e.clock().Add(48*time.Hour), time.Time{})

	code := e.mint(sub.ID, "telegram")
	r := e.do("alice", "start", code) // the Telegram deep link
	if r.Error || !strings.Contains(text(r), "Linked!") || !strings.Contains(text(r), "full articles will be sent") {
		t.Fatalf("deep link: %+v", text(r))
	}
	r = e.do("alice", "status", "")
	if !strings.Contains(text(r), "Full articles: yes, until 3 March 2025 12:00 UTC") || !strings.Contains(text(r), "private message: on") {
		t.Fatalf("status: %s", text(r))
	}
	r = e.do("alice", "story", sid)
	if len(r.Article) == 0 || !hasFullText(r) {
		t.Fatalf("entitled reader got no article: %s", text(r))
	}
	if r = e.doIn("telegram", "alice", false, "story", sid); len(r.Article) == 0 || !strings.Contains(text(r), "private message") {
		t.Fatalf("story in a group: %s", text(r))
	}

	// pause/resume change DMs but not /story.
	if r = e.do("alice", "pause", ""); r.Error || !strings.Contains(text(r), "Paused") {
		t.Fatalf("pause: %s", text(r))
	}
	if r = e.do("alice", "status", ""); !strings.Contains(text(r), "paused") {
		t.Fatalf("status after pause: %s", text(r))
	}
	if r = e.do("alice", "story", sid); len(r.Article) == 0 {
		t.Fatal("paused reader refused /story")
	}
	if r = e.do("alice", "resume", ""); r.Error || !strings.Contains(text(r), "Resumed") {
		t.Fatalf("resume: %s", text(r))
	}

	// Lapsed: period ends.
	e.advance(49 * time.Hour)
	r = e.do("alice", "story", sid)
	if len(r.Article) != 0 || hasFullText(r) || !strings.Contains(text(r), "can't send the full article") || len(r.Stories) != 1 {
		t.Fatalf("lapsed reader: %s", text(r))
	}
	if r = e.do("alice", "status", ""); !strings.Contains(text(r), "Full articles: no") {
		t.Fatalf("lapsed status: %s", text(r))
	}
	// past_due within grace is entitled again.
	if _, err := e.st.SetSubscription(context.Background(), "cus_1", store.SubscriptionPatch{Status: ptr("past_due"), GraceUntil: ptr(e.clock().Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if r = e.do("alice", "story", sid); len(r.Article) == 0 {
		t.Fatal("reader in grace refused")
	}

	// Relink on another account: the link moves and the old account is told.
	r = e.do("bob", "link", store.FormatLinkCode(e.mint(sub.ID, "telegram")))
	if r.Error || len(r.Notices) != 1 || r.Notices[0].UserID != "alice" || !strings.Contains(r.Notices[0].Blocks.PlainText(), "another account") {
		t.Fatalf("relink: %+v", r)
	}
	if r = e.do("alice", "story", sid); len(r.Article) != 0 {
		t.Fatal("moved-away account still gets full text")
	}
	if r = e.do("bob", "story", sid); len(r.Article) == 0 {
		t.Fatal("new account refused")
	}

	// Unlink is immediate.
	if r = e.do("bob", "unlink", ""); r.Error || !strings.Contains(text(r), "Unlinked") {
		t.Fatalf("unlink: %s", text(r))
	}
	if r = e.do("bob", "story", sid); len(r.Article) != 0 || hasFullText(r) {
		t.Fatal("unlinked account still gets full text")
	}
}

func ptr[T any](v T) *T { return &v }

func TestCommandsInvalidCodesLookAlike(t *testing.T) {
	e := newCmdEnv(t)
	ctx := context.Background()
	sub := e.sub("cus_1", "active", e.clock().Add(48*time.Hour), time.Time{})

	used := e.mint(sub.ID, "telegram")
	if r := e.do("someone", "link", used); r.Error {
		t.Fatal(text(r))
	}
	expired, _, err := e.st.MintLinkCode(ctx, sub.ID, "discord", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e.codes = append(e.codes, expired)
	e.advance(2 * time.Minute)
	revoked := e.mint(sub.ID, "telegram")
	_ = e.mint(sub.ID, "telegram") // revokes the previous
	wrongPlatform := e.mint(sub.ID, "discord")

	cases := map[string]string{
		"unknown":        "ABCDE-FGHJK",
		"malformed":      "hello",
		"used":           used,
		"expired":        expired,
		"revoked":        revoked,
		"wrong platform": wrongPlatform,
	}
	var first string
	i := 0
	for name, code := range cases {
		i++
		// A fresh reader per case, so the rate limit does not change the answer.
		r := e.do(fmt.Sprintf("reader%d", i), "link", code)
		if !r.Error || len(r.Notices) != 0 {
			t.Fatalf("%s: %+v", name, r)
		}
		if first == "" {
			first = text(r)
		}
		if text(r) != first {
			t.Errorf("%s: reply %q differs from %q", name, text(r), first)
		}
		for _, c := range e.codes {
			if strings.Contains(text(r), c) {
				t.Errorf("%s: reply quotes a code", name)
			}
		}
	}
}

func TestCommandsLockout(t *testing.T) {
	e := newCmdEnv(t)
	sub := e.sub("cus_1", "active", e.clock().Add(48*time.Hour), time.Time{})
	code := e.mint(sub.ID, "telegram")
	for i := range 5 {
		if r := e.do("mallory", "link", fmt.Sprintf("%05d-00000", i)); !strings.Contains(text(r), "didn't work") {
			t.Fatalf("attempt %d: %s", i, text(r))
		}
	}
	r := e.do("mallory", "link", code)
	if !r.Error || !strings.Contains(text(r), "try again after 12:15 UTC, 1 March (in about 15 minutes)") {
		t.Fatalf("locked: %s", text(r))
	}
	if r := e.do("mallory", "status", ""); !strings.Contains(text(r), "not linked") {
		t.Fatal("locked-out account got linked")
	}
	// A custom policy from the options.
	e.cmds.opts.LinkPolicy = store.LinkPolicy{MaxAttempts: 1, Window: time.Hour}
	e.do("eve", "link", "00000-00000")
	if r := e.do("eve", "link", code); !strings.Contains(text(r), "in about an hour") {
		t.Fatalf("policy: %s", text(r))
	}
}

func TestCommandsCodeInGroupIsRevoked(t *testing.T) {
	e := newCmdEnv(t)
	sub := e.sub("cus_1", "active", e.clock().Add(48*time.Hour), time.Time{})
	for _, command := range []string{"link", "start"} {
		code := e.mint(sub.ID, "telegram")
		r := e.doIn("telegram", "alice", false, command, store.FormatLinkCode(code))
		if !r.Error || !r.Personal || !strings.Contains(text(r), "cancelled") || strings.Contains(text(r), code) {
			t.Fatalf("%s in group: %+v", command, r)
		}
		if r := e.do("alice", "status", ""); !strings.Contains(text(r), "not linked") {
			t.Fatalf("%s in group linked the account", command)
		}
		if r := e.do("alice", "link", code); !strings.Contains(text(r), "didn't work") {
			t.Fatalf("%s: a code posted in a group still works: %s", command, text(r))
		}
	}
	// The same reply for a string that was never a code.
	a := text(e.doIn("telegram", "bob", false, "link", "ZZZZZ-ZZZZZ"))
	b := text(e.doIn("telegram", "bob", false, "link", store.FormatLinkCode(e.mint(sub.ID, "telegram"))))
	if a != b {
		t.Errorf("group replies differ: %q vs %q", a, b)
	}
	for _, command := range []string{"status", "unlink", "pause", "resume"} {
		if r := e.doIn("telegram", "alice", false, command, ""); !r.Error || !strings.Contains(text(r), "private chat") {
			t.Errorf("%s in a group: %s", command, text(r))
		}
	}
	// Discord marks ephemeral interactions private: linking there works.
	if r := e.doIn("discord", "d1", true, "link", e.mint(sub.ID, "discord")); r.Error {
		t.Fatalf("discord link: %s", text(r))
	}
}

func TestCommandsMarkReachable(t *testing.T) {
	e := newCmdEnv(t)
	ctx := context.Background()
	sub := e.sub("cus_1", "active", e.clock().Add(48*time.Hour), time.Time{})
	e.do("alice", "link", e.mint(sub.ID, "telegram"))
	if err := e.st.MarkLinkUnreachable(ctx, "telegram", "alice", "Forbidden: bot was blocked by the user"); err != nil {
		t.Fatal(err)
	}
	e.doIn("telegram", "alice", false, "latest", "") // a group message says nothing about DMs
	if l, _, _ := e.st.LinkFor(ctx, "telegram", "alice"); l.Reachable() {
		t.Fatal("a group command marked the DM reachable")
	}
	for _, tc := range []struct{ name, command string }{
		{"a private command", "help"},
		{"private text that is not a command", ""},
	} {
		if err := e.st.MarkLinkUnreachable(ctx, "telegram", "alice", "Forbidden: bot was blocked by the user"); err != nil {
			t.Fatal(err)
		}
		r := e.do("alice", tc.command, "")
		if l, _, _ := e.st.LinkFor(ctx, "telegram", "alice"); !l.Reachable() {
			t.Errorf("%s did not mark the link reachable", tc.name)
		}
		if r.Error || !strings.Contains(text(r), "/help") {
			t.Errorf("%s: reply %q does not point to /help", tc.name, text(r))
		}
	}
}

// TestPaywallInvariant drives many readers through random link, unlink, expiry, renewal, grace,
// relink and clock moves, and checks after every step that `story` returns full text exactly to
// accounts linked (per an independent model) to a subscription entitled at that moment.
func TestPaywallInvariant(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { paywallRun(t, seed) })
	}
}

type modelSub struct {
	extID       string
	id          int64
	status      string
	end, grace  time.Time
	linkedBy    map[string]string // platform → user
	pendingCode map[string]string // platform → code not yet used
}

func paywallRun(t *testing.T, seed uint64) {
	e := newCmdEnv(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 99))
	storyID := fmt.Sprint(e.story("s", "Secret", e.clock(), ""))
	platforms := []string{"telegram", "discord"}
	var subs []*modelSub
	for i := range 8 {
		ms := &modelSub{extID: fmt.Sprintf("cus_%d", i), status: "active", end: e.clock().Add(time.Duration(1+rng.IntN(72)) * time.Hour),
			linkedBy: map[string]string{}, pendingCode: map[string]string{}}
		ms.id = e.sub(ms.extID, ms.status, ms.end, time.Time{}).ID
		subs = append(subs, ms)
	}
	linkOf := map[string]*modelSub{} // platform/user → subscription
	key := func(p, u string) string { return p + "/" + u }
	entitled := func(ms *modelSub, now time.Time) bool {
		switch ms.status {
		case "active", "trialing":
			return now.Before(ms.end)
		case "past_due":
			return now.Before(ms.grace)
		}
		return false
	}
	setSub := func(ms *modelSub) {
		if _, err := e.st.SetSubscription(ctx, ms.extID, store.SubscriptionPatch{Status: &ms.status, CurrentPeriodEnd: &ms.end, GraceUntil: &ms.grace}); err != nil {
			t.Fatal(err)
		}
	}
	var fullTexts, refusals int
	for step := range 600 {
		p := platforms[rng.IntN(2)]
		user := fmt.Sprintf("u%d", rng.IntN(20))
		ms := subs[rng.IntN(len(subs))]
		now := e.clock()
		switch op := rng.IntN(10); op {
		case 0, 1: // mint and redeem (link, relink, re-point)
			code := e.mint(ms.id, p)
			r := e.doIn(p, user, true, "link", code)
			if r.Error {
				t.Fatalf("step %d: link failed: %s", step, text(r))
			}
			if old, ok := ms.linkedBy[p]; ok && old != user {
				if len(r.Notices) != 1 || r.Notices[0].UserID != old {
					t.Fatalf("step %d: relink without notice to %s: %+v", step, old, r.Notices)
				}
				delete(linkOf, key(p, old))
			}
			if prev, ok := linkOf[key(p, user)]; ok && prev != ms {
				delete(prev.linkedBy, p)
			}
			ms.linkedBy[p] = user
			linkOf[key(p, user)] = ms
		case 2: // a code minted but never used, later superseded or expired
			ms.pendingCode[p] = e.mint(ms.id, p)
		case 3: // someone else tries a stale code
			if code, ok := ms.pendingCode[p]; ok && rng.IntN(2) == 0 {
				e.advance(16 * time.Minute)
				if r := e.doIn(p, user, true, "link", code); !r.Error {
					t.Fatalf("step %d: an expired code linked", step)
				}
				delete(ms.pendingCode, p)
			}
		case 4: // unlink
			r := e.doIn(p, user, true, "unlink", "")
			if cur, ok := linkOf[key(p, user)]; ok {
				if !strings.Contains(text(r), "Unlinked") {
					t.Fatalf("step %d: unlink: %s", step, text(r))
				}
				delete(cur.linkedBy, p)
				delete(linkOf, key(p, user))
			}
		case 5: // expire or cancel
			ms.status = []string{"expired", "canceled"}[rng.IntN(2)]
			setSub(ms)
		case 6: // renew
			ms.status = []string{"active", "trialing"}[rng.IntN(2)]
			ms.end = now.Add(time.Duration(rng.IntN(48)) * time.Hour)
			setSub(ms)
		case 7: // payment failed: past_due with or without grace
			ms.status = "past_due"
			ms.grace = time.Time{}
			if rng.IntN(2) == 0 {
				ms.grace = now.Add(time.Duration(rng.IntN(24)) * time.Hour)
			}
			setSub(ms)
		case 8: // time passes
			e.advance(time.Duration(rng.IntN(12*60)) * time.Minute)
		case 9: // pause or resume: must not change /story
			e.doIn(p, user, true, []string{"pause", "resume"}[rng.IntN(2)], "")
		}
		// Check a few readers after every step, including one in a group chat.
		for range 3 {
			cp := platforms[rng.IntN(2)]
			cu := fmt.Sprintf("u%d", rng.IntN(20))
			r := e.doIn(cp, cu, rng.IntN(4) != 0, "story", storyID)
			cur, linked := linkOf[key(cp, cu)]
			want := linked && entitled(cur, e.clock())
			got := len(r.Article) > 0
			if got != want || hasFullText(r) != want {
				t.Fatalf("step %d: %s/%s linked=%v got full text %v, want %v (%s)", step, cp, cu, linked, got, want, text(r))
			}
			if want {
				fullTexts++
			} else {
				refusals++
			}
			// The store agrees with the model about who is linked where.
			l, sub, err := e.st.LinkFor(ctx, cp, cu)
			if linked != (err == nil) || (linked && (sub.ID != cur.id || l.UserID != cu)) {
				t.Fatalf("step %d: store link %+v %v, model linked=%v", step, l, err, linked)
			}
		}
	}
	if fullTexts < 20 || refusals < 20 {
		t.Fatalf("the random walk did not exercise both sides: %d full texts, %d refusals", fullTexts, refusals)
	}
}

// BenchmarkSearchCommand runs `search` over 10,000 stories.
func BenchmarkSearchCommand(b *testing.B) {
	e := newCmdEnv(b)
	ctx := context.Background()
	words := []string{"harbour", "council", "budget", "election", "school", "river", "bridge", "festival", "court", "hospital", "rail", "housing"}
	rng := rand.New(rand.NewPCG(1, 2))
	base := e.clock().Add(-10000 * time.Hour)
	for i := range 10_000 {
		var sb strings.Builder
		for range 300 {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteString(" words ")
		}
		title := fmt.Sprintf("%s %s story %d", words[rng.IntN(len(words))], words[rng.IntN(len(words))], i)
		if _, _, err := e.st.UpsertStory(ctx, store.Story{Origin: "cli", GUID: fmt.Sprint(i), Title: title, Body: store.BodyFromText(sb.String()),
			Summary: "s", PublishedAt: base.Add(time.Duration(i) * time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	queries := []string{"harbour", "council budget", "elect", "river bridge festival"}
	i := 0
	for b.Loop() {
		i++
		r := e.do("u1", "search", queries[i%len(queries)])
		if r.Error || len(r.Stories) != SearchMax {
			b.Fatalf("%s", text(r))
		}
	}
}

// BenchmarkStoryCommandEntitled is /story for a linked, entitled reader among 1,000 subscriptions.
func BenchmarkStoryCommandEntitled(b *testing.B) {
	e := newCmdEnv(b)
	id := fmt.Sprint(e.story("s", "Story", e.clock(), ""))
	for i := range 1000 {
		sub := e.sub(fmt.Sprintf("cus_%d", i), "active", e.clock().Add(time.Hour), time.Time{})
		if r := e.do(fmt.Sprintf("u%d", i), "link", e.mint(sub.ID, "telegram")); r.Error {
			b.Fatal(text(r))
		}
	}
	for b.Loop() {
		if r := e.do("u500", "story", id); len(r.Article) == 0 {
			b.Fatal("no article")
		}
	}
}
