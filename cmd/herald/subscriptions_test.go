package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldnews/herald/bots/telegram/telegramtest"
	"github.com/heraldnews/herald/store"
)

const cliCSV = "\ufeffexternal_id,email,plan,status,current_period_end,grace_until\r\n" +
	"cus_1,one@example.com,monthly,active,2099-01-01,\r\n" +
	"cus_2,two@example.com,annual,canceled,2020-01-01,\r\n" +
	"cus_3,three@example.com,monthly,paid,2099-01-01,\r\n"

func TestSubscriptionsCLI(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "subs.csv")
	if err := os.WriteFile(csvPath, []byte(cliCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runHerald(t, dir, "subscriptions", "import", csvPath)
	if code != exitOK || !strings.Contains(out, "3 rows: 2 created, 0 updated, 0 unchanged, 1 invalid") || !strings.Contains(errOut, "line 4 (cus_3): status") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runHerald(t, dir, "subscriptions", "import", "--json", csvPath)
	var rep store.ImportReport
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || rep.Unchanged != 2 || rep.Invalid != 1 {
		t.Fatalf("import --json: %d %s", code, out)
	}

	code, out, _ = runHerald(t, dir, "subscriptions", "list", "--entitled")
	if code != exitOK || !strings.Contains(out, "cus_1") || strings.Contains(out, "cus_2") {
		t.Fatalf("list --entitled: %d\n%s", code, out)
	}
	code, out, _ = runHerald(t, dir, "subscriptions", "list", "--json")
	var list []map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0]["external_id"] != "cus_1" {
		t.Fatalf("list --json: %d %s", code, out)
	}

	code, out, errOut = runHerald(t, dir, "subscriptions", "set", "cus_2", "--status", "past_due", "--grace-until", "2099-02-01", "--plan", "monthly")
	if code != exitOK || !strings.Contains(out, "status        past_due") || !strings.Contains(out, "entitled      yes, until 2099-02-01T00:00:00Z") {
		t.Fatalf("set: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut = runHerald(t, dir, "subscriptions", "set", "cus_2", "--status", "paid"); code != exitUsage || !strings.Contains(errOut, "status") {
		t.Fatalf("set bad status: %d %s", code, errOut)
	}
	if code, _, errOut = runHerald(t, dir, "subscriptions", "set", "cus_2"); code != exitUsage || !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("set nothing: %d %s", code, errOut)
	}
	if code, _, errOut = runHerald(t, dir, "subscriptions", "set", "nobody", "--plan", "x"); code != exitFailure || !strings.Contains(errOut, "no subscription") {
		t.Fatalf("set missing: %d %s", code, errOut)
	}

	// link-code, then show lists the link once redeemed.
	code, out, errOut = runHerald(t, dir, "link-code", "cus_1", "--platform", "telegram", "--ttl", "30m", "--json")
	var lc LinkCodeOutput
	if code != exitOK || json.Unmarshal([]byte(out), &lc) != nil {
		t.Fatalf("link-code: %d %s %s", code, out, errOut)
	}
	norm, ok := store.NormalizeLinkCode(lc.Code)
	if !ok || len(lc.Code) != 11 || lc.Platform != "telegram" || lc.TelegramURL != "" {
		t.Fatalf("link-code output %+v", lc)
	}
	st, err := store.Open(filepath.Join(dir, "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RedeemLinkCode(t.Context(), "telegram", "777", norm); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, _ = runHerald(t, dir, "subscriptions", "show", "cus_1")
	if code != exitOK || !strings.Contains(out, "link          telegram user 777 (DMs on") {
		t.Fatalf("show: %d\n%s", code, out)
	}
	code, out, _ = runHerald(t, dir, "subscriptions", "show", "--json", "cus_1")
	var shown map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &shown) != nil || len(shown["links"].([]any)) != 1 {
		t.Fatalf("show --json: %d %s", code, out)
	}
	if code, _, errOut = runHerald(t, dir, "link-code", "--platform", "myspace", "cus_1"); code != exitUsage {
		t.Fatalf("bad platform: %d %s", code, errOut)
	}
	if code, _, _ = runHerald(t, dir, "subscriptions", "frob"); code != exitUsage {
		t.Fatalf("unknown subcommand: %d", code)
	}
}

func TestLinkCodeTelegramURL(t *testing.T) {
	dir := t.TempDir()
	cfg := "[store]\npath = \"" + filepath.ToSlash(filepath.Join(dir, "herald.db")) + "\"\n[telegram]\nbot_username = \"@herald_test_bot\"\n"
	if err := os.WriteFile(filepath.Join(dir, "herald.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s.csv"), []byte(cliCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runHerald(t, dir, "subscriptions", "import", filepath.Join(dir, "s.csv")); code != exitOK {
		t.Fatal(errOut)
	}
	code, out, errOut := runHerald(t, dir, "link-code", "cus_1")
	if code != exitOK || !strings.Contains(out, "telegram link https://t.me/herald_test_bot?start=") || !strings.Contains(out, "expires") {
		t.Fatalf("%d\n%s\n%s", code, out, errOut)
	}
	line := out[strings.Index(out, "code"):]
	shown := strings.Fields(line)[1]
	norm, _ := store.NormalizeLinkCode(shown)
	if !strings.Contains(out, "?start="+norm+"\n") {
		t.Fatalf("deep link payload is not the code:\n%s", out)
	}
}

// TestLinkCodeTelegramURLFromGetMe: without bot_username, a configured token makes link-code ask
// the Bot API for the username, so the deep link is printed; the token never is.
func TestLinkCodeTelegramURLFromGetMe(t *testing.T) {
	fake := telegramtest.NewServer("123456:LINKCODETOKEN", "valley_herald_bot")
	t.Cleanup(fake.Close)
	cases := []struct {
		name, token, wantURL, wantErr string
	}{
		{"token accepted", fake.Token, "https://t.me/valley_herald_bot?start=", ""},
		{"token rejected", "123456:WRONG", "", "no Telegram deep link"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := storeConfig(dir) + "[telegram]\napi_url = \"" + fake.URL + "\"\ntoken = \"" + tc.token + "\"\n"
			if err := os.WriteFile(filepath.Join(dir, "herald.toml"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "s.csv"), []byte(cliCSV), 0o600); err != nil {
				t.Fatal(err)
			}
			if code, _, errOut := runHerald(t, dir, "subscriptions", "import", filepath.Join(dir, "s.csv")); code != exitOK {
				t.Fatal(errOut)
			}
			code, out, errOut := runHerald(t, dir, "link-code", "cus_1", "--json")
			var lc LinkCodeOutput
			if code != exitOK || json.Unmarshal([]byte(out), &lc) != nil {
				t.Fatalf("link-code: %d %s %s", code, out, errOut)
			}
			norm, _ := store.NormalizeLinkCode(lc.Code)
			if tc.wantURL == "" && lc.TelegramURL != "" || tc.wantURL != "" && lc.TelegramURL != tc.wantURL+norm {
				t.Errorf("telegram_url = %q, want %q + code", lc.TelegramURL, tc.wantURL)
			}
			if !strings.Contains(errOut, tc.wantErr) || strings.Contains(out+errOut, "LINKCODETOKEN") || strings.Contains(out+errOut, "WRONG") {
				t.Errorf("stderr = %q", errOut)
			}
		})
	}
}
