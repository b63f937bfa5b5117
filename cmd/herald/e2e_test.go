package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldnews/herald/bots/discord/discordtest"
	"github.com/heraldnews/herald/bots/telegram/telegramtest"
	"github.com/heraldnews/herald/store"
)

// TestServeTelegramEndToEnd: feed item → channel post → DM to a linked subscriber, and a
// reader without a subscription who presses "Read the full article" gets the summary and how to link.
func TestServeTelegramEndToEnd(t *testing.T) {
	fake := telegramtest.NewServer("123456:TESTTOKEN", "valley_herald_bot")
	t.Cleanup(fake.Close)
	feed := newsFeed(t)
	dir := t.TempDir()
	seedReader(t, filepath.Join(dir, "herald.db"), "telegram", "4242")
	body := storeConfig(dir) + fmt.Sprintf(`
[[ingest.feeds]]
url = %q
[telegram]
api_url = %q
channels = ["@valley_news"]
poll_timeout = "1s"
[delivery]
poll_interval = "50ms"
[api]
listen = %q
[links]
subscribe_url = "https://valley.example/subscribe"
`, feed.URL, fake.URL, freeAddr(t))
	r := startHerald(t, dir, body, map[string]string{"HERALD_TELEGRAM_TOKEN": fake.Token}, "serve")

	eventually(t, 30*time.Second, "channel post and DM", func() bool {
		return len(fake.Sent("@valley_news")) == 1 && len(fake.Sent("4242")) >= 1
	})
	post := fake.Sent("@valley_news")[0]
	if !strings.Contains(post.Text, "<b>Bridge reopens after &lt;repairs&gt; &amp; checks</b>") {
		t.Errorf("post not escaped as Telegram HTML: %q", post.Text)
	}
	if !strings.Contains(post.ReplyMarkup, "https://t.me/valley_herald_bot?start=story_1") {
		t.Errorf("post lacks the deep-link button: %s", post.ReplyMarkup)
	}
	dm := fake.Sent("4242")[0]
	if !strings.Contains(dm.Plain, "140 tonnes of stone") || !strings.Contains(dm.Plain, "two months over schedule") {
		t.Errorf("DM lacks the full text: %q", dm.Plain)
	}

	// A reader with no subscription follows the deep link.
	fake.PushUpdate(telegramtest.TextUpdate(555, "private", 555, "/start story_1"))
	eventually(t, 15*time.Second, "reply to the unlinked reader", func() bool { return len(fake.Sent("555")) > 0 })
	var replies strings.Builder
	for _, s := range fake.Sent("555") {
		replies.WriteString(s.Plain + "\n")
	}
	if strings.Contains(replies.String(), "two months over schedule") {
		t.Fatalf("full text leaked to an unlinked reader: %s", replies.String())
	}
	if !strings.Contains(replies.String(), "valley.example/subscribe") && !strings.Contains(replies.String(), "/link") {
		t.Errorf("reply does not say how to subscribe or link: %s", replies.String())
	}
	r.cancel()
	if code := r.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("exit %d\n%s", code, r.stderr.String())
	}
	if strings.Contains(r.stderr.String(), fake.Token) {
		t.Error("the bot token appears in the log")
	}
}

// TestServeDiscordEndToEnd: feed item → channel embed → DM to a linked subscriber; the embed's
// button refuses a reader without a subscription.
func TestServeDiscordEndToEnd(t *testing.T) {
	fake := discordtest.New("discord-test-token")
	t.Cleanup(fake.Close)
	feed := newsFeed(t)
	dir := t.TempDir()
	seedReader(t, filepath.Join(dir, "herald.db"), "discord", "777")
	body := storeConfig(dir) + fmt.Sprintf(`
[[ingest.feeds]]
url = %q
[discord]
api_url = %q
channels = ["900"]
[delivery]
poll_interval = "50ms"
[api]
listen = %q
`, feed.URL, strings.TrimSuffix(fake.APIURL, "/api/v9/"), freeAddr(t))
	r := startHerald(t, dir, body, map[string]string{"HERALD_DISCORD_TOKEN": fake.Token}, "serve")
	if err := fake.WaitConnected(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, r.stderr.String())
	}
	if _, err := fake.WaitCalls("POST", "/channels/900/messages", 1, 30*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, r.stderr.String())
	}
	post := string(fake.CallsTo("POST", "/channels/900/messages")[0].Body)
	for _, want := range []string{`"allowed_mentions":{"parse":[]`, `repairs\u003e \u0026 checks`, `"custom_id":"story:1"`} {
		if !strings.Contains(post, want) {
			t.Errorf("post lacks %s: %s", want, post)
		}
	}
	eventually(t, 30*time.Second, "DM to the subscriber", func() bool {
		ch := fake.DMChannel("777")
		return ch != "" && len(fake.CallsTo("POST", "/channels/"+ch+"/messages")) > 0
	})
	dm := string(fake.CallsTo("POST", "/channels/"+fake.DMChannel("777")+"/messages")[0].Body)
	if !strings.Contains(dm, "two months over schedule") {
		t.Errorf("DM lacks the full text: %s", dm)
	}

	it, err := fake.PressButton(discordtest.From{UserID: "888", ChannelID: "900", GuildID: "g1"}, "1", "story:1")
	if err != nil {
		t.Fatal(err)
	}
	resps, err := fake.WaitResponses(it, 1, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, c := range resps {
		all.Write(c.Body)
	}
	if strings.Contains(all.String(), "two months over schedule") {
		t.Fatalf("full text leaked to a reader without subscription: %s", all.String())
	}
	if ch := fake.DMChannel("888"); ch != "" && len(fake.CallsTo("POST", "/channels/"+ch+"/messages")) > 0 {
		t.Error("a reader without subscription got a DM")
	}
	r.cancel()
	if code := r.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("exit %d\n%s", code, r.stderr.String())
	}
	if strings.Contains(r.stderr.String(), fake.Token) {
		t.Error("the bot token appears in the log")
	}
}

// TestServeTelegramWebhook: in webhook mode the operator API serves the webhook path, checks the
// secret token and hands commands to the bot.
func TestServeTelegramWebhook(t *testing.T) {
	fake := telegramtest.NewServer("123456:HOOKTOKEN", "valley_herald_bot")
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	addr := freeAddr(t)
	hook := "http://" + addr + "/hooks/telegram"
	body := storeConfig(dir) + fmt.Sprintf(`
[telegram]
api_url = %q
webhook_url = %q
webhook_secret = "hook-secret-123"
[api]
listen = %q
`, fake.URL, hook, addr)
	r := startHerald(t, dir, body, map[string]string{"HERALD_TELEGRAM_TOKEN": fake.Token}, "serve")
	eventually(t, 30*time.Second, "setWebhook", func() bool { u, _ := fake.Webhook(); return u == hook })
	ctx := t.Context()
	var code int
	eventually(t, 10*time.Second, "webhook accepted", func() bool {
		var err error
		code, err = fake.DeliverWebhook(ctx, telegramtest.TextUpdate(901, "private", 901, "/help"))
		return err == nil && code == http.StatusOK
	})
	eventually(t, 10*time.Second, "reply to /help", func() bool { return len(fake.Sent("901")) > 0 })

	req, _ := http.NewRequest("POST", hook, strings.NewReader(`{"update_id":99,"message":{"message_id":1,"date":1,"chat":{"id":902,"type":"private"},"from":{"id":902,"is_bot":false,"first_name":"x"},"text":"/help"}}`))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong secret answered %d", resp.StatusCode)
	}
	time.Sleep(200 * time.Millisecond)
	if len(fake.Sent("902")) != 0 {
		t.Error("an update with a wrong secret was handled")
	}
	r.cancel()
	if code := r.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("exit %d\n%s", code, r.stderr.String())
	}
	if strings.Contains(r.stderr.String(), "hook-secret-123") {
		t.Error("the webhook secret appears in the log")
	}
}

// TestServeLinkThenPushThenDM is the publisher's whole flow through the binary: the website mints a
// link code over the API, the reader opens the deep link in Telegram, the CMS pushes a story, and
// the reader gets it in full by DM while the channel gets the summary.
func TestServeLinkThenPushThenDM(t *testing.T) {
	fake := telegramtest.NewServer("123456:FLOWTOKEN", "flow_herald_bot")
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	addr := freeAddr(t)
	body := storeConfig(dir) + fmt.Sprintf(`
[telegram]
api_url = %q
channels = ["@flow_news"]
poll_timeout = "1s"
[delivery]
poll_interval = "50ms"
[api]
listen = %q
`, fake.URL, addr)
	r := startHerald(t, dir, body, map[string]string{"HERALD_TELEGRAM_TOKEN": fake.Token, "HERALD_API_TOKEN": "op"}, "serve")
	api := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer op")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	eventually(t, 30*time.Second, "operator API", func() bool { code, _ := api("GET", "/v1/subscriptions/none", ""); return code == 404 })
	end := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	if code, out := api("PUT", "/v1/subscriptions/cus_77", `{"email":"r@example.com","plan":"digital","status":"active","current_period_end":"`+end+`"}`); code != 201 {
		t.Fatalf("upsert subscription: %d %v", code, out)
	}
	code, minted := api("POST", "/v1/subscriptions/cus_77/link-codes", `{"platform":"telegram"}`)
	if code != 201 {
		t.Fatalf("mint: %d %v", code, minted)
	}
	deep, _ := minted["telegram_url"].(string)
	payload, ok := strings.CutPrefix(deep, "https://t.me/flow_herald_bot?start=")
	if !ok || payload == "" {
		t.Fatalf("telegram_url = %q", deep)
	}
	fake.PushUpdate(telegramtest.TextUpdate(7001, "private", 7001, "/start "+payload))
	eventually(t, 15*time.Second, "link confirmation", func() bool { return len(fake.Sent("7001")) > 0 })
	if code, sub := api("GET", "/v1/subscriptions/cus_77", ""); code != 200 || !strings.Contains(fmt.Sprint(sub["links"]), "7001") {
		t.Fatalf("subscription links after /start: %d %v", code, sub)
	}

	story := `{"guid":"cms-1","url":"https://flow.example/a","title":"Council & <unions> agree","byline":"R. Writer",
		"published_at":"2026-11-25T09:00:00Z","html":"<p>The council and the unions agreed a deal on Tuesday after long talks about pay and hours.</p><p>The deal covers four thousand workers across the district and runs for three years from April.</p><p>Only subscribers should ever read this closing paragraph about the vote.</p>"}`
	if code, out := api("POST", "/v1/stories", story); code != 201 {
		t.Fatalf("push: %d %v", code, out)
	}
	if code, _ := api("POST", "/v1/stories", story); code != 200 {
		t.Fatalf("second push of the same guid: %d, want 200", code)
	}
	eventually(t, 30*time.Second, "post and DM", func() bool {
		for _, s := range fake.Sent("7001") {
			if strings.Contains(s.Plain, "closing paragraph about the vote") {
				return len(fake.Sent("@flow_news")) == 1
			}
		}
		return false
	})
	if post := fake.Sent("@flow_news")[0]; !strings.Contains(post.Text, "Council &amp; &lt;unions&gt; agree") {
		t.Errorf("channel post: %q", post.Text)
	}
	r.cancel()
	if code := r.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("exit %d\n%s", code, r.stderr.String())
	}
	if strings.Contains(r.stderr.String(), payload) {
		t.Error("the link code appears in the log")
	}
}

// TestServeDiscordLinkCommand: a reader links with /link code: and the reply is ephemeral; a wrong
// code gets the same kind of private refusal.
func TestServeDiscordLinkCommand(t *testing.T) {
	fake := discordtest.New("discord-link-token")
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sub, _, err := st.UpsertSubscription(t.Context(), store.Subscription{ExternalID: "cus_d", Status: store.StatusActive, CurrentPeriodEnd: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := st.MintLinkCode(t.Context(), sub.ID, "discord", time.Hour)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	body := storeConfig(dir) + fmt.Sprintf("[discord]\napi_url = %q\n[api]\nlisten = %q\n", fake.APIURL, freeAddr(t))
	r := startHerald(t, dir, body, map[string]string{"HERALD_DISCORD_TOKEN": fake.Token}, "serve")
	if err := fake.WaitConnected(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, r.stderr.String())
	}
	from := discordtest.From{UserID: "555", ChannelID: "42", GuildID: "g1"}
	reply := func(name string, opts ...discordtest.Option) string {
		t.Helper()
		it, err := fake.SlashCommand(from, name, opts...)
		if err != nil {
			t.Fatal(err)
		}
		calls, err := fake.WaitResponses(it, 1, 15*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, c := range calls {
			b.Write(c.Body)
		}
		return b.String()
	}
	bad := reply("link", discordtest.Option{Name: "code", Value: "ZZZZZ-ZZZZZ"})
	if !strings.Contains(bad, `"flags":64`) {
		t.Errorf("refusal is not ephemeral: %s", bad)
	}
	good := reply("link", discordtest.Option{Name: "code", Value: strings.ToLower(store.FormatLinkCode(code))})
	if !strings.Contains(good, `"flags":64`) || good == bad {
		t.Errorf("link reply: %s", good)
	}
	st, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, s, err := st.LinkFor(t.Context(), "discord", "555"); err != nil || s.ExternalID != "cus_d" {
		t.Fatalf("not linked: %v %+v", err, s)
	}
	r.cancel()
	if code := r.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("exit %d\n%s", code, r.stderr.String())
	}
}
