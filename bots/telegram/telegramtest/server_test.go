package telegramtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseHTML(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "plain", want: "plain"},
		{in: "<b>bold</b> &amp; <i>it</i>", want: "bold & it"},
		{in: `<a href="https://e.org/?a=1&amp;b=2">x</a>`, want: "x"},
		{in: "<pre><code class=\"language-go\">a &lt; b</code></pre>", want: "a < b"},
		{in: "&#128651; &#x41; &quot;q&quot;", want: "🚋 A \"q\""},
		{in: "  <b> padded </b>  ", want: "padded"},
		{in: "<B>upper</B>", want: "upper"},
		{in: "<blockquote>q <b>b</b></blockquote>", want: "q b"},
		{in: "a < b", bad: true},
		{in: "a > b", bad: true},
		{in: "fish & chips", bad: true},
		{in: "&nbsp;", bad: true},
		{in: "<div>x</div>", bad: true},
		{in: "<b>x", bad: true},
		{in: "<b>x</i>", bad: true},
		{in: "<code><b>x</b></code>", bad: true},
		{in: `<a href="https://e.org"><code>x</code></a>`, bad: true},
		{in: "<blockquote><blockquote>x</blockquote></blockquote>", bad: true},
		{in: "<a>x</a>", bad: true},
		{in: `<a href="https://e.org/"x">y</a>`, bad: true},
	}
	for _, tt := range tests {
		got, err := ParseHTML(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseHTML(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseHTML(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestUTF16Len(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "é": 1, "🚋": 2, "日本": 2} {
		if got := UTF16Len(s); got != want {
			t.Errorf("UTF16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

type apiAnswer struct {
	OK          bool            `json:"ok"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Result      json.RawMessage `json:"result"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func post(t *testing.T, u, contentType, body string) apiAnswer {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a apiAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	if a.OK != (resp.StatusCode == 200) || (!a.OK && a.ErrorCode != resp.StatusCode) {
		t.Errorf("status %d with answer %+v", resp.StatusCode, a)
	}
	return a
}

func TestServerEncodingsAndValidation(t *testing.T) {
	s := NewServer("1:tok", "HeraldTestBot")
	defer s.Close()
	base := s.URL + "/bot1:tok/"

	if a := post(t, base+"sendMessage", "application/json", `{"chat_id":42,"text":"<b>hi</b>","parse_mode":"HTML","link_preview_options":{"is_disabled":true}}`); !a.OK {
		t.Fatalf("JSON sendMessage: %+v", a)
	}
	form := url.Values{"chat_id": {"@chan"}, "text": {"plain & simple"}}
	if a := post(t, base+"sendMessage", "application/x-www-form-urlencoded", form.Encode()); !a.OK {
		t.Fatalf("urlencoded sendMessage: %+v", a)
	}
	calls := s.Calls("sendMessage")
	if len(calls) != 2 || calls[0].Params["chat_id"] != "42" || calls[0].Params["link_preview_options"] != `{"is_disabled":true}` || calls[1].Params["text"] != "plain & simple" {
		t.Fatalf("calls = %+v", calls)
	}
	sent := s.Sent("42")
	if len(sent) != 1 || sent[0].Plain != "hi" || sent[0].Text != "<b>hi</b>" {
		t.Errorf("sent = %+v", sent)
	}

	tests := []struct {
		name, body string
		code       int
	}{
		{"bad html", `{"chat_id":1,"text":"a < b","parse_mode":"HTML"}`, 400},
		{"too long", `{"chat_id":1,"text":"` + strings.Repeat("é", MaxMessageText+1) + `"}`, 400},
		{"empty", `{"chat_id":1,"text":"  "}`, 400},
		{"two button types", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"a","url":"https://e.org","copy_text":{"text":""}}]]}}`, 400},
		{"relative button url", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"a","url":"/x"}]]}}`, 400},
		{"fits with entities", `{"chat_id":1,"parse_mode":"HTML","text":"<b>` + strings.Repeat("&amp;", MaxMessageText) + `</b>"}`, 200},
	}
	for _, tt := range tests {
		a := post(t, base+"sendMessage", "application/json", tt.body)
		if code := map[bool]int{true: 200, false: a.ErrorCode}[a.OK]; code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.name, code, a.Description, tt.code)
		}
	}
	if a := post(t, s.URL+"/bot1:other/getMe", "application/json", ""); a.ErrorCode != 401 {
		t.Errorf("wrong token: %+v", a)
	}
	caption := `{"chat_id":1,"photo":"https://e.org/a.jpg","caption":"` + strings.Repeat("x", MaxCaption+1) + `"}`
	if a := post(t, base+"sendPhoto", "application/json", caption); a.OK || !strings.Contains(a.Description, "caption is too long") {
		t.Errorf("long caption: %+v", a)
	}
}

func TestServerScriptedFailures(t *testing.T) {
	s := NewServer("1:tok", "b")
	defer s.Close()
	base := s.URL + "/bot1:tok/sendMessage"
	body := `{"chat_id":7,"text":"x"}`
	f := TooManyRequests(3)
	f.After = 1
	s.FailNext("sendMessage", f)
	if a := post(t, base, "application/json", body); !a.OK {
		t.Fatalf("first call should pass: %+v", a)
	}
	if a := post(t, base, "application/json", body); a.ErrorCode != 429 || a.Parameters.RetryAfter != 3 {
		t.Fatalf("second call: %+v", a)
	}
	s.FailChat("7", Blocked)
	for range 2 {
		if a := post(t, base, "application/json", body); a.ErrorCode != 403 {
			t.Fatalf("blocked chat: %+v", a)
		}
	}
	s.ClearChat("7")
	if a := post(t, base, "application/json", body); !a.OK {
		t.Fatalf("after ClearChat: %+v", a)
	}
}

func TestServerLongPolling(t *testing.T) {
	s := NewServer("1:tok", "b")
	defer s.Close()
	u := s.URL + "/bot1:tok/getUpdates"
	done := make(chan apiAnswer, 1)
	go func() {
		var a apiAnswer
		if resp, err := http.Post(u, "application/json", strings.NewReader(`{"offset":0,"timeout":10}`)); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
		}
		done <- a
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.WaitCalls(ctx, "getUpdates", 1); err != nil {
		t.Fatal(err)
	}
	s.PushUpdate(TextUpdate(5, "private", 5, "/help"))
	var a apiAnswer
	select {
	case a = <-done:
	case <-ctx.Done():
		t.Fatal("long poll did not return the pushed update")
	}
	var ups []struct {
		ID      int64 `json:"update_id"`
		Message struct {
			Text     string `json:"text"`
			Entities []struct {
				Type   string `json:"type"`
				Length int    `json:"length"`
			} `json:"entities"`
		} `json:"message"`
	}
	if err := json.Unmarshal(a.Result, &ups); err != nil || len(ups) != 1 {
		t.Fatalf("result %s: %v", a.Result, err)
	}
	if m := ups[0].Message; m.Text != "/help" || len(m.Entities) != 1 || m.Entities[0].Type != "bot_command" || m.Entities[0].Length != 5 {
		t.Errorf("update = %+v", ups[0])
	}
	// Asking past the update confirms it; a zero timeout answers at once.
	a = post(t, u, "application/json", `{"offset":`+jsonInt(ups[0].ID+1)+`,"timeout":0}`)
	if string(a.Result) != "[]" {
		t.Errorf("confirmed update delivered again: %s", a.Result)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
