// Package openai is a summarize.Summarizer on any OpenAI-compatible chat
// completions API: OpenAI, Ollama, the llama.cpp server, vLLM.
package openai

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/heraldnews/herald/summarize"
)

// Name is the Summary.Summarizer value of this backend.
const Name = "openai"

// promptVersion is part of SettingsKey; bump it when the prompt changes so
// cached summaries made with the old prompt are not reused.
const promptVersion = "p1"

// Errors returned by Summarize and Check, for errors.Is.
var (
	// ErrUnauthorized means the server rejected the API key (HTTP 401/403).
	ErrUnauthorized = errors.New("openai: API key rejected")
	// ErrModelNotFound means the server does not serve the configured model.
	ErrModelNotFound = errors.New("openai: model not found")
	// ErrRateLimited means HTTP 429 persisted through the retries.
	ErrRateLimited = errors.New("openai: rate limited")
	// ErrServer means HTTP 5xx persisted through the retries.
	ErrServer = errors.New("openai: server error")
	// ErrTimeout means one request took longer than Config.Timeout.
	ErrTimeout = errors.New("openai: request timed out")
	// ErrBadResponse means the answer could not be used (malformed, no choices, empty text).
	ErrBadResponse = errors.New("openai: unusable response")
)

// Config configures the summarizer; zero fields take the documented defaults.
type Config struct {
	// BaseURL of the OpenAI-compatible API, including the version path
	// (default "https://api.openai.com/v1"; Ollama: "http://localhost:11434/v1").
	BaseURL string
	// APIKey is sent as a bearer token; empty sends none (local servers).
	APIKey string
	// Model is the model name the server knows (required).
	Model string
	// Timeout bounds each HTTP request (default 60s); the library has none.
	Timeout time.Duration
	// InputTokenBudget bounds the article text sent, estimated at four
	// characters per token (default 3000 tokens, i.e. 12,000 characters).
	InputTokenBudget int
	// MaxSentences and MaxChars are the summary budget (defaults 3 and 600).
	MaxSentences int
	MaxChars     int
	// MaxRetries is how many times a 429 or 5xx is retried (default 2; negative: none).
	MaxRetries int
	// MaxRetryWait caps one wait between retries (default 30s); a
	// Retry-After longer than this gives up at once so the fallback can run.
	MaxRetryWait time.Duration
	// MaxOutputTokens, when positive, is sent as max_tokens. Leave it zero
	// for OpenAI reasoning models, which reject max_tokens.
	MaxOutputTokens int
	// Temperature, when positive, is sent; zero leaves the server default.
	Temperature float32
	// HTTPClient replaces the default client; its Timeout is set to Timeout when zero.
	HTTPClient *http.Client
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = "https://api.openai.com/v1"
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.InputTokenBudget <= 0 {
		c.InputTokenBudget = 3000
	}
	if c.MaxSentences <= 0 {
		c.MaxSentences = summarize.DefaultMaxSentences
	}
	if c.MaxChars <= 0 {
		c.MaxChars = summarize.DefaultMaxChars
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 2
	} else if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.MaxRetryWait <= 0 {
		c.MaxRetryWait = 30 * time.Second
	}
	return c
}

// Usage is a snapshot of the summarizer's counters since it was made.
type Usage struct {
	Requests         int64 // HTTP requests sent, retries included
	Failures         int64 // Summarize calls that returned an error
	PromptTokens     int64
	CompletionTokens int64
}

var _ summarize.Summarizer = (*Summarizer)(nil)

// Summarizer summarizes articles with a chat-completions model.
type Summarizer struct {
	cfg     Config
	client  *goopenai.Client
	baseURL string // redacted, for messages
	// sleep waits between retries; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	requests, failures, promptTokens, completionTokens atomic.Int64
}

// New returns a summarizer for cfg. It does not contact the server; call
// Check at start-up to verify the key and the model.
func New(cfg Config) (*Summarizer, error) {
	cfg = cfg.withDefaults()
	if cfg.Model == "" {
		return nil, errors.New("openai: config: model is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("openai: config: base_url %q is not an http(s) URL", redactURL(cfg.BaseURL))
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		if c.Timeout == 0 {
			c.Timeout = cfg.Timeout
		}
		hc = &c
	}
	oc := goopenai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.BaseURL
	oc.HTTPClient = &recordingDoer{inner: hc}
	return &Summarizer{
		cfg:     cfg,
		client:  goopenai.NewClientWithConfig(oc),
		baseURL: u.Redacted(),
		sleep:   sleepCtx,
	}, nil
}

// SettingsKey identifies everything that shapes the output, for summarize.WithCache.
func (s *Summarizer) SettingsKey() string {
	return fmt.Sprintf("openai/%s/%s/%s/s%d/c%d/t%d/temp%g", promptVersion, s.baseURL, s.cfg.Model,
		s.cfg.MaxSentences, s.cfg.MaxChars, s.cfg.InputTokenBudget, s.cfg.Temperature)
}

// Usage returns the request and token counters, for `herald stats` and /metrics.
func (s *Summarizer) Usage() Usage {
	return Usage{
		Requests:         s.requests.Load(),
		Failures:         s.failures.Load(),
		PromptTokens:     s.promptTokens.Load(),
		CompletionTokens: s.completionTokens.Load(),
	}
}

// Check verifies once, at start-up, that the server accepts the key and
// serves the model. It returns ErrUnauthorized or ErrModelNotFound (with a
// message naming the base URL and model, never the key) or another error
// when the server cannot be reached. It costs no tokens.
func (s *Summarizer) Check(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	_, err := s.client.GetModel(cctx, s.cfg.Model)
	if err == nil {
		return nil
	}
	switch code := statusCode(err); {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%w by %s (HTTP %d): check HERALD_OPENAI_API_KEY", ErrUnauthorized, s.baseURL, code)
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
		// Some servers (vLLM, llama.cpp) only list models; model names with
		// a slash cannot be fetched one by one either.
		list, lerr := s.client.ListModels(cctx)
		if lerr != nil {
			if c := statusCode(lerr); c == http.StatusUnauthorized || c == http.StatusForbidden {
				return fmt.Errorf("%w by %s (HTTP %d): check HERALD_OPENAI_API_KEY", ErrUnauthorized, s.baseURL, c)
			}
			return fmt.Errorf("%w: %q at %s (HTTP %d)", ErrModelNotFound, s.cfg.Model, s.baseURL, code)
		}
		var names []string
		for _, m := range list.Models {
			if m.ID == s.cfg.Model {
				return nil
			}
			if len(names) < 10 {
				names = append(names, m.ID)
			}
		}
		return fmt.Errorf("%w: %q is not served at %s (it serves: %s)", ErrModelNotFound, s.cfg.Model, s.baseURL, strings.Join(names, ", "))
	default:
		return fmt.Errorf("openai: checking model %q at %s: %s", s.cfg.Model, s.baseURL, s.sanitize(err))
	}
}

// Summarize asks the model for a summary of a within the budget. Errors are
// wrapped around the Err* values above; summarize.WithFallback turns any of
// them into an extractive summary.
func (s *Summarizer) Summarize(ctx context.Context, a summarize.Article) (summarize.Summary, error) {
	sum, err := s.summarize(ctx, a)
	if err != nil {
		s.failures.Add(1)
	}
	return sum, err
}

func (s *Summarizer) summarize(ctx context.Context, a summarize.Article) (summarize.Summary, error) {
	text := cutToBudget(a.Text, 4*s.cfg.InputTokenBudget)
	if text == "" {
		return summarize.Summary{}, summarize.ErrEmpty
	}
	msgs := []goopenai.ChatCompletionMessage{
		{Role: goopenai.ChatMessageRoleSystem, Content: s.systemPrompt()},
		{Role: goopenai.ChatMessageRoleUser, Content: userPrompt(a, text)},
	}
	out := summarize.Summary{Summarizer: Name, Model: s.cfg.Model}
	var answer string
	for round := 0; round < 2; round++ {
		resp, err := s.complete(ctx, msgs)
		if err != nil {
			return summarize.Summary{}, err
		}
		out.PromptTokens += resp.Usage.PromptTokens
		out.CompletionTokens += resp.Usage.CompletionTokens
		if resp.Model != "" {
			out.Model = resp.Model
		}
		if len(resp.Choices) == 0 {
			return summarize.Summary{}, fmt.Errorf("%w: no choices", ErrBadResponse)
		}
		choice := resp.Choices[0]
		answer = strings.TrimSpace(choice.Message.Content)
		problem := s.problem(answer)
		if problem == "" && choice.FinishReason == goopenai.FinishReasonLength {
			problem = "it was cut off"
		}
		if problem == "" {
			out.Text = answer
			return out, nil
		}
		// One retry with a stricter instruction, answering in the same conversation.
		msgs = append(msgs,
			goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleAssistant, Content: answer},
			goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Content: s.stricter(problem)},
		)
	}
	// Still not right: salvage the answer by cutting at a sentence boundary.
	out.Text = s.salvage(answer)
	if out.Text == "" {
		return summarize.Summary{}, fmt.Errorf("%w: empty answer", ErrBadResponse)
	}
	return out, nil
}

func (s *Summarizer) systemPrompt() string {
	return fmt.Sprintf("You summarize news articles for a news channel. "+
		"Write at most %d sentences and at most %d characters in total. "+
		"Use only facts stated in the article: never add names, numbers, dates, causes, opinions or background that the article does not state. "+
		"Write in the same language as the article. "+
		"Answer with the summary only, as plain prose: no title, no headings, no lists, no markdown, no preface such as \"Summary:\".",
		s.cfg.MaxSentences, s.cfg.MaxChars)
}

func userPrompt(a summarize.Article, text string) string {
	var b strings.Builder
	if a.Lang != "" {
		fmt.Fprintf(&b, "Language of the article: %s.\n", a.Lang)
	}
	if a.Title != "" {
		fmt.Fprintf(&b, "Title: %s\n", a.Title)
	}
	b.WriteString("Article:\n")
	b.WriteString(text)
	return b.String()
}

func (s *Summarizer) stricter(problem string) string {
	return fmt.Sprintf("That answer cannot be used because %s. Answer again with only the summary: "+
		"plain sentences, at most %d sentences and at most %d characters, no headings, no lists, no markdown, "+
		"only facts from the article, in the article's language.", problem, s.cfg.MaxSentences, s.cfg.MaxChars)
}

// problem says what is wrong with an answer, or "" when it is usable.
func (s *Summarizer) problem(answer string) string {
	if answer == "" {
		return "it was empty"
	}
	for _, line := range strings.Split(answer, "\n") {
		l := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(l, "#"):
			return "it contained a markdown heading"
		case strings.HasPrefix(l, "**") && strings.HasSuffix(l, "**"):
			return "it contained a heading"
		case isListItem(l):
			return "it was a list"
		}
	}
	if n := utf8.RuneCountInString(answer); n > s.cfg.MaxChars {
		return fmt.Sprintf("it had %d characters, more than %d", n, s.cfg.MaxChars)
	}
	if n := len(summarize.SplitSentences(answer)); n > s.cfg.MaxSentences {
		return fmt.Sprintf("it had %d sentences, more than %d", n, s.cfg.MaxSentences)
	}
	return ""
}

func isListItem(l string) bool {
	if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "• ") {
		return true
	}
	i := 0
	for i < len(l) && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	return i > 0 && i < len(l) && (l[i] == '.' || l[i] == ')') && strings.HasPrefix(l[i+1:], " ")
}

// salvage strips markdown from an answer and cuts it to the budget at a
// sentence boundary.
func (s *Summarizer) salvage(answer string) string {
	var parts []string
	for _, line := range strings.Split(answer, "\n") {
		l := strings.TrimSpace(line)
		if l == "" || strings.HasPrefix(l, "#") || (strings.HasPrefix(l, "**") && strings.HasSuffix(l, "**")) {
			continue
		}
		if isListItem(l) {
			l = strings.TrimSpace(strings.TrimLeft(l, "-*•0123456789.)"))
		}
		parts = append(parts, strings.ReplaceAll(l, "**", ""))
	}
	sents := summarize.SplitSentences(strings.Join(parts, "\n\n"))
	if len(sents) > s.cfg.MaxSentences {
		sents = sents[:s.cfg.MaxSentences]
	}
	return summarize.TruncateText(strings.Join(sents, " "), s.cfg.MaxChars)
}

// cutToBudget keeps whole leading sentences of text within maxChars.
func cutToBudget(text string, maxChars int) string {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) <= maxChars {
		return text
	}
	return summarize.TruncateText(text, maxChars)
}

// complete sends one chat completion, retrying 429 and 5xx with backoff.
func (s *Summarizer) complete(ctx context.Context, msgs []goopenai.ChatCompletionMessage) (goopenai.ChatCompletionResponse, error) {
	req := goopenai.ChatCompletionRequest{Model: s.cfg.Model, Messages: msgs, Temperature: s.cfg.Temperature}
	if s.cfg.MaxOutputTokens > 0 {
		req.MaxTokens = s.cfg.MaxOutputTokens
	}
	for attempt := 0; ; attempt++ {
		info := &responseInfo{}
		actx, cancel := context.WithTimeout(context.WithValue(ctx, infoKey{}, info), s.cfg.Timeout)
		s.requests.Add(1)
		resp, err := s.client.CreateChatCompletion(actx, req)
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded) || isTimeout(err)
		cancel()
		if err == nil {
			s.promptTokens.Add(int64(resp.Usage.PromptTokens))
			s.completionTokens.Add(int64(resp.Usage.CompletionTokens))
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, fmt.Errorf("openai: %w", ctx.Err())
		}
		code := statusCode(err)
		if code == 0 {
			code = info.status
		}
		var sentinel error
		switch {
		case timedOut:
			return resp, fmt.Errorf("%w after %s", ErrTimeout, s.cfg.Timeout)
		case code == http.StatusTooManyRequests:
			sentinel = ErrRateLimited
		case code >= 500:
			sentinel = ErrServer
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return resp, fmt.Errorf("%w by %s (HTTP %d)", ErrUnauthorized, s.baseURL, code)
		case code == http.StatusNotFound:
			return resp, fmt.Errorf("%w: %q at %s", ErrModelNotFound, s.cfg.Model, s.baseURL)
		case code == 0:
			return resp, fmt.Errorf("openai: request to %s failed: %s", s.baseURL, s.sanitize(err))
		case code < 300: // a 2xx body that is not a completion
			return resp, fmt.Errorf("%w: %s", ErrBadResponse, s.sanitize(err))
		default:
			return resp, fmt.Errorf("openai: HTTP %d: %s", code, s.sanitize(err))
		}
		if attempt >= s.cfg.MaxRetries {
			return resp, fmt.Errorf("%w (HTTP %d) after %d attempts: %s", sentinel, code, attempt+1, s.sanitize(err))
		}
		wait := backoff(attempt)
		if ra, ok := parseRetryAfter(info.retryAfter, time.Now()); ok {
			wait = ra
		}
		if wait > s.cfg.MaxRetryWait {
			return resp, fmt.Errorf("%w (HTTP %d): server asks to wait %s, more than %s", sentinel, code, wait, s.cfg.MaxRetryWait)
		}
		if err := s.sleep(ctx, wait); err != nil {
			return resp, fmt.Errorf("openai: %w", err)
		}
	}
}

// backoff is 1s, 2s, 4s … with ±20% jitter so many workers do not retry in step.
func backoff(attempt int) time.Duration {
	d := time.Second << min(attempt, 5)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func statusCode(err error) int {
	var apiErr *goopenai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode
	}
	var reqErr *goopenai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode
	}
	return 0
}

// keyLike matches API-key shapes that servers echo in error messages
// ("Incorrect API key provided: sk-abc***xyz").
var keyLike = regexp.MustCompile(`\b(sk|key|pk|rk)-[A-Za-z0-9_*.\-]{3,}`)

// sanitize renders err without the API key or anything shaped like one.
func (s *Summarizer) sanitize(err error) string {
	msg := err.Error()
	if s.cfg.APIKey != "" {
		msg = strings.ReplaceAll(msg, s.cfg.APIKey, "[redacted]")
	}
	msg = keyLike.ReplaceAllString(msg, "[redacted]")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

// infoKey carries a *responseInfo in a request's context.
type infoKey struct{}

// responseInfo is what go-openai does not expose: the status and Retry-After.
type responseInfo struct {
	status     int
	retryAfter string
}

// recordingDoer copies the status and Retry-After header of each response
// into the request context's responseInfo.
type recordingDoer struct {
	inner *http.Client
}

func (d *recordingDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.inner.Do(req)
	if info, ok := req.Context().Value(infoKey{}).(*responseInfo); ok && resp != nil {
		info.status = resp.StatusCode
		info.retryAfter = resp.Header.Get("Retry-After")
	}
	return resp, err
}
