package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/heraldnews/herald/summarize"
)

const testKey = "sk-test-SECRET0123456789"

var article = summarize.Article{
	Title: "Riverton approves footbridge",
	Text: "Riverton's council voted 7-2 on Tuesday to build a footbridge over the Mill River. " +
		"The bridge will cost $4.2 million and open next year.\n\n" +
		"Two councillors objected to the cost. Residents had asked for a crossing since 2021.",
}

// chatRequest is the part of a chat completions request the tests inspect.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

// fakeAPI is an httptest OpenAI-compatible server: the i-th chat request
// gets steps[i] (the last step repeats).
type fakeAPI struct {
	t     *testing.T
	srv   *httptest.Server
	steps []http.HandlerFunc

	mu       sync.Mutex
	requests []chatRequest
	auth     []string
}

func newFakeAPI(t *testing.T, steps ...http.HandlerFunc) *fakeAPI {
	f := &fakeAPI{t: t, steps: steps}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("request body is not JSON: %v", err)
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	i := min(len(f.requests)-1, len(f.steps)-1)
	f.mu.Unlock()
	f.steps[i](w, r)
}

func (f *fakeAPI) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeAPI) request(i int) chatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[i]
}

// answer replies with a real-shaped chat completion.
func answer(content string) http.HandlerFunc {
	return answerWith(content, "stop")
}

func answerWith(content, finish string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{
  "id": "chatcmpl-abc123",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "test-model-2025",
  "choices": [{
    "index": 0,
    "message": {"role": "assistant", "content": %q, "refusal": null},
    "logprobs": null,
    "finish_reason": %q
  }],
  "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
  "system_fingerprint": "fp_test"
}`, content, finish)
	}
}

func status(code int, headers map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

const good = "Riverton's council voted 7-2 to build a footbridge over the Mill River. It will cost $4.2 million."

// newTest returns a summarizer on the fake server that records retry waits
// instead of sleeping.
func newTest(t *testing.T, f *fakeAPI, mod func(*Config)) (*Summarizer, *[]time.Duration) {
	t.Helper()
	cfg := Config{BaseURL: f.srv.URL + "/v1", APIKey: testKey, Model: "test-model", Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	s.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return s, &waits
}

func checkNoKey(t *testing.T, err error) {
	t.Helper()
	if err != nil && (strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "SECRET")) {
		t.Fatalf("error leaks the API key: %v", err)
	}
}

func TestSummarizeSuccess(t *testing.T) {
	f := newFakeAPI(t, answer(good))
	s, _ := newTest(t, f, nil)
	sum, err := s.Summarize(context.Background(), article)
	if err != nil {
		t.Fatal(err)
	}
	want := summarize.Summary{Text: good, Summarizer: Name, Model: "test-model-2025", PromptTokens: 120, CompletionTokens: 30}
	if sum != want {
		t.Fatalf("summary = %+v\nwant %+v", sum, want)
	}
	req := f.request(0)
	if req.Model != "test-model" || len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Fatalf("unexpected request shape: %+v", req)
	}
	sys := req.Messages[0].Content
	for _, must := range []string{"only facts stated in the article", "same language as the article", "at most 3 sentences", "at most 600 characters"} {
		if !strings.Contains(sys, must) {
			t.Errorf("system prompt lacks %q: %s", must, sys)
		}
	}
	if !strings.Contains(req.Messages[1].Content, "Riverton approves footbridge") || !strings.Contains(req.Messages[1].Content, "Two councillors objected") {
		t.Errorf("user prompt lacks the title or text: %s", req.Messages[1].Content)
	}
	if f.auth[0] != "Bearer "+testKey {
		t.Errorf("Authorization = %q", f.auth[0])
	}
	if u := s.Usage(); u != (Usage{Requests: 1, PromptTokens: 120, CompletionTokens: 30}) {
		t.Errorf("Usage = %+v", u)
	}
}

func TestNoKeyNoAuthorizationHeader(t *testing.T) {
	f := newFakeAPI(t, answer(good))
	s, _ := newTest(t, f, func(c *Config) { c.APIKey = "" })
	if _, err := s.Summarize(context.Background(), article); err != nil {
		t.Fatal(err)
	}
	if f.auth[0] != "" {
		t.Fatalf("Authorization = %q, want none for a keyless local server", f.auth[0])
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		steps     []http.HandlerFunc
		wantErr   error
		wantCalls int
		wantWaits []time.Duration // exact waits; nil: check only the count
		waitCount int
	}{
		{
			name:      "429 with Retry-After then success",
			steps:     []http.HandlerFunc{status(429, map[string]string{"Retry-After": "7"}, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`), answer(good)},
			wantCalls: 2,
			wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name:      "503 then success uses backoff",
			steps:     []http.HandlerFunc{status(503, nil, `{"error":{"message":"overloaded","type":"server_error"}}`), answer(good)},
			wantCalls: 2,
			waitCount: 1,
		},
		{
			name:      "500 persists",
			steps:     []http.HandlerFunc{status(500, nil, `{"error":{"message":"internal error","type":"server_error"}}`)},
			wantErr:   ErrServer,
			wantCalls: 3,
			waitCount: 2,
		},
		{
			name:      "429 asking for too long a wait gives up",
			steps:     []http.HandlerFunc{status(429, map[string]string{"Retry-After": "3600"}, `{"error":{"message":"quota","type":"requests"}}`)},
			wantErr:   ErrRateLimited,
			wantCalls: 1,
			waitCount: 0,
		},
		{
			name:      "malformed JSON",
			steps:     []http.HandlerFunc{status(200, nil, `{"id": "chatcmpl-1", "choices": [`)},
			wantErr:   ErrBadResponse,
			wantCalls: 1,
		},
		{
			name:      "HTML error page from a proxy",
			steps:     []http.HandlerFunc{status(502, nil, `<html>Bad Gateway</html>`)},
			wantErr:   ErrServer,
			wantCalls: 3,
			waitCount: 2,
		},
		{
			name:      "empty choices",
			steps:     []http.HandlerFunc{status(200, nil, `{"id":"chatcmpl-1","object":"chat.completion","model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5}}`)},
			wantErr:   ErrBadResponse,
			wantCalls: 1,
		},
		{
			name:      "401 names the problem, not the key",
			steps:     []http.HandlerFunc{status(401, nil, `{"error":{"message":"Incorrect API key provided: sk-test-SECRET0123456789.","type":"invalid_request_error","code":"invalid_api_key"}}`)},
			wantErr:   ErrUnauthorized,
			wantCalls: 1,
		},
		{
			name:      "404 model",
			steps:     []http.HandlerFunc{status(404, nil, `{"error":{"message":"The model 'test-model' does not exist","type":"invalid_request_error","code":"model_not_found"}}`)},
			wantErr:   ErrModelNotFound,
			wantCalls: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, tc.steps...)
			s, waits := newTest(t, f, nil)
			sum, err := s.Summarize(context.Background(), article)
			checkNoKey(t, err)
			if tc.wantErr == nil {
				if err != nil || sum.Text != good {
					t.Fatalf("got %+v, %v", sum, err)
				}
			} else if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if f.calls() != tc.wantCalls {
				t.Errorf("server saw %d calls, want %d", f.calls(), tc.wantCalls)
			}
			if tc.wantWaits != nil {
				if fmt.Sprint(*waits) != fmt.Sprint(tc.wantWaits) {
					t.Errorf("waits = %v, want %v", *waits, tc.wantWaits)
				}
			} else if len(*waits) != tc.waitCount {
				t.Errorf("waited %d times (%v), want %d", len(*waits), *waits, tc.waitCount)
			}
		})
	}
}

func TestOutputCheck(t *testing.T) {
	long := strings.Repeat("The council met again and discussed the bridge at length. ", 15)
	tests := []struct {
		name        string
		steps       []http.HandlerFunc
		want        string
		wantCalls   int
		wantInRetry string
	}{
		{"too long, then fine", []http.HandlerFunc{answer(long), answer(good)}, good, 2, "characters"},
		{"markdown heading, then fine", []http.HandlerFunc{answer("# Summary\n\n" + good), answer(good)}, good, 2, "heading"},
		{"list, then fine", []http.HandlerFunc{answer("- One point.\n- Another point."), answer(good)}, good, 2, "list"},
		{"cut off, then fine", []http.HandlerFunc{answerWith("Riverton's council voted", "length"), answer(good)}, good, 2, "cut off"},
		{"too many sentences twice: cut", []http.HandlerFunc{answer("One is here. Two is here. Three is here. Four is here.")}, "One is here. Two is here. Three is here.", 2, "sentences"},
		{"heading twice: stripped", []http.HandlerFunc{answer("## Riverton\n\n" + good)}, good, 2, "heading"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, tc.steps...)
			s, _ := newTest(t, f, nil)
			sum, err := s.Summarize(context.Background(), article)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Text != tc.want {
				t.Errorf("Text = %q, want %q", sum.Text, tc.want)
			}
			if f.calls() != tc.wantCalls {
				t.Errorf("server saw %d calls, want %d", f.calls(), tc.wantCalls)
			}
			retry := f.request(1)
			last := retry.Messages[len(retry.Messages)-1]
			if len(retry.Messages) != 4 || last.Role != "user" || !strings.Contains(last.Content, tc.wantInRetry) {
				t.Errorf("retry does not carry a stricter instruction about %q: %+v", tc.wantInRetry, retry.Messages)
			}
			if sum.PromptTokens != 240 || sum.CompletionTokens != 60 {
				t.Errorf("tokens = %d/%d, want both calls counted (240/60)", sum.PromptTokens, sum.CompletionTokens)
			}
		})
	}

	t.Run("too long twice: cut within budget", func(t *testing.T) {
		f := newFakeAPI(t, answer(long))
		s, _ := newTest(t, f, nil)
		sum, err := s.Summarize(context.Background(), article)
		if err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(sum.Text); n > 600 || n == 0 || !strings.HasSuffix(sum.Text, ".") {
			t.Fatalf("salvaged text (%d chars) not cut at a sentence boundary within budget: %q", n, sum.Text)
		}
	})
	t.Run("empty twice: error", func(t *testing.T) {
		f := newFakeAPI(t, answer("  "))
		s, _ := newTest(t, f, nil)
		if _, err := s.Summarize(context.Background(), article); !errors.Is(err, ErrBadResponse) {
			t.Fatalf("err = %v, want ErrBadResponse", err)
		}
	})
}

func TestInputCutToTokenBudget(t *testing.T) {
	f := newFakeAPI(t, answer(good))
	s, _ := newTest(t, f, func(c *Config) { c.InputTokenBudget = 40 }) // 160 characters
	if _, err := s.Summarize(context.Background(), article); err != nil {
		t.Fatal(err)
	}
	user := f.request(0).Messages[1].Content
	text := user[strings.Index(user, "Article:\n")+len("Article:\n"):]
	want := "Riverton's council voted 7-2 on Tuesday to build a footbridge over the Mill River. The bridge will cost $4.2 million and open next year."
	if text != want {
		t.Fatalf("article sent = %q, want %q", text, want)
	}
}

// slowThenOK never answers in time.
func slow(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

func TestTimeoutFallsBackToExtractive(t *testing.T) {
	f := newFakeAPI(t, slow)
	s, _ := newTest(t, f, func(c *Config) { c.Timeout = 100 * time.Millisecond })
	_, err := s.Summarize(context.Background(), article)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	fb := summarize.WithFallback(s, summarize.NewExtractive(summarize.Options{}), nil)
	sum, err := fb.Summarize(context.Background(), article)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Summarizer != summarize.NameExtractive || !sum.Fallback || sum.Text == "" {
		t.Fatalf("got %+v, want an extractive fallback summary", sum)
	}
}

func TestFailuresFallBack(t *testing.T) {
	for name, step := range map[string]http.HandlerFunc{
		"500":            status(500, nil, `{"error":{"message":"boom","type":"server_error"}}`),
		"malformed JSON": status(200, nil, `not json`),
		"empty choices":  status(200, nil, `{"choices":[]}`),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, step)
			s, _ := newTest(t, f, nil)
			sum, err := summarize.WithFallback(s, summarize.NewExtractive(summarize.Options{}), nil).Summarize(context.Background(), article)
			if err != nil || sum.Summarizer != summarize.NameExtractive || !sum.Fallback {
				t.Fatalf("got %+v, %v; want the extractive fallback", sum, err)
			}
		})
	}
}

// memCache is an in-memory summarize.Cache.
type memCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *memCache) GetSummary(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok, nil
}

func (c *memCache) PutSummary(_ context.Context, key string, value []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok {
		c.m[key] = value
	}
	return nil
}

func TestCachePreventsSecondCall(t *testing.T) {
	f := newFakeAPI(t, answer(good))
	s, _ := newTest(t, f, nil)
	c := &memCache{m: map[string][]byte{}}
	ext := summarize.NewExtractive(summarize.Options{})
	build := func() summarize.Summarizer {
		return summarize.WithFallback(summarize.WithCache(s, c, s.SettingsKey()), summarize.WithCache(ext, c, ext.SettingsKey()), nil)
	}
	first, err := build().Summarize(context.Background(), article)
	if err != nil || first.Summarizer != Name {
		t.Fatalf("first: %+v, %v", first, err)
	}
	second, err := build().Summarize(context.Background(), article) // as after a restart
	if err != nil || second.Text != first.Text || !second.Cached {
		t.Fatalf("second: %+v, %v", second, err)
	}
	if f.calls() != 1 {
		t.Fatalf("model called %d times for the same content, want 1", f.calls())
	}
}

// modelsAPI serves /v1/models and /v1/models/{id}.
func modelsAPI(t *testing.T, getStatus int, list string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/models":
			if list == "" {
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"error":{"message":"not found"}}`)
				return
			}
			io.WriteString(w, list)
		case strings.HasPrefix(r.URL.Path, "/v1/models/"):
			w.WriteHeader(getStatus)
			switch getStatus {
			case http.StatusOK:
				fmt.Fprintf(w, `{"id":%q,"object":"model","created":1686935002,"owned_by":"test"}`, strings.TrimPrefix(r.URL.Path, "/v1/models/"))
			case http.StatusUnauthorized:
				io.WriteString(w, `{"error":{"message":"Incorrect API key provided: sk-test-SECRET0123456789.","type":"invalid_request_error","code":"invalid_api_key"}}`)
			default:
				io.WriteString(w, `{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}`)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		getStatus int
		list      string
		wantErr   error
		wantInMsg string
	}{
		{"model exists", 200, "", nil, ""},
		{"bad key", 401, "", ErrUnauthorized, "HERALD_OPENAI_API_KEY"},
		{"unknown model", 404, `{"object":"list","data":[{"id":"llama3","object":"model"},{"id":"mistral","object":"model"}]}`, ErrModelNotFound, `"test-model" is not served`},
		{"only listed (vLLM)", 404, `{"object":"list","data":[{"id":"test-model","object":"model"}]}`, nil, ""},
		{"no model endpoints", 404, "", ErrModelNotFound, "test-model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := modelsAPI(t, tc.getStatus, tc.list)
			s, err := New(Config{BaseURL: srv.URL + "/v1", APIKey: testKey, Model: "test-model", Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Check(context.Background())
			checkNoKey(t, err)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantInMsg) {
				t.Fatalf("err = %q, want it to mention %q", err, tc.wantInMsg)
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no model":     {BaseURL: "http://localhost:11434/v1"},
		"bad base url": {BaseURL: "localhost:11434", Model: "m"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	s, err := New(Config{Model: "m", APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.SettingsKey(), testKey) {
		t.Fatal("settings key holds the API key")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"12", 12 * time.Second, true},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0, true},
		{"soon", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestUnreachableServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s, err := New(Config{BaseURL: url + "/v1", APIKey: testKey, Model: "m", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Summarize(context.Background(), article)
	checkNoKey(t, err)
	if err == nil || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("err = %v, want a request failure", err)
	}
	if u := s.Usage(); u.Failures != 1 || u.Requests != 1 {
		t.Fatalf("Usage = %+v, want 1 request, 1 failure", u)
	}
}
