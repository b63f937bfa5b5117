package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/bwmarrin/discordgo"

	"github.com/heraldnews/herald/bots"
)

// JSON error codes Discord returns for recipients and channels the bot cannot reach.
const (
	codeUnknownChannel     = 10003
	codeUnknownUser        = 10013
	codeMissingAccess      = 50001
	codeCannotDM           = 50007
	codeMissingPermissions = 50013
)

// defaultAPIPath is the path discordgo's endpoints start with; the transport rewrites it.
const defaultAPIPath = "/api/v9/"

// transport sends discordgo's requests for discord.com/api/v9/… to the configured base and
// notes whether a 429 was global, which discordgo's RateLimitError does not carry.
type transport struct {
	base *url.URL
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "discord.com" && strings.HasPrefix(req.URL.Path, defaultAPIPath) {
		r := req.Clone(req.Context())
		u := *req.URL
		u.Scheme, u.Host = t.base.Scheme, t.base.Host
		u.Path = t.base.Path + strings.TrimPrefix(req.URL.Path, defaultAPIPath)
		if req.URL.RawPath != "" {
			u.RawPath = t.base.EscapedPath() + strings.TrimPrefix(req.URL.RawPath, defaultAPIPath)
		}
		r.URL, r.Host = &u, ""
		req = r
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if note, ok := req.Context().Value(rateNoteKey{}).(*rateNote); ok {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			note.record(resp.Header, body)
		}
	}
	return resp, err
}

// rateNote carries a 429's scope from the transport back to the call that caused it.
type rateNote struct {
	mu     sync.Mutex
	seen   bool
	global bool
}

type rateNoteKey struct{}

func withRateNote(ctx context.Context, n *rateNote) context.Context {
	return context.WithValue(ctx, rateNoteKey{}, n)
}

func (n *rateNote) record(h http.Header, body []byte) {
	var v struct {
		Global bool `json:"global"`
	}
	_ = json.Unmarshal(body, &v)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen = true
	// Discord names the scope of every 429; one without it (a proxy, an older server) is taken
	// as global, the safe side: the whole bot waits rather than run into it again.
	scope := strings.TrimSpace(h.Get("X-RateLimit-Scope"))
	n.global = v.Global || strings.EqualFold(h.Get("X-RateLimit-Global"), "true") ||
		strings.EqualFold(scope, "global") || scope == ""
}

// scope reports whether a 429 applies to the whole bot; unknown counts as global, the safe side.
func (n *rateNote) scope() bool {
	if n == nil {
		return true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.seen || n.global
}

// classify maps a discordgo error to the dispatcher's classes: *bots.RetryAfter for 429, 5xx,
// timeouts and network failures; bots.ErrUnreachable for recipients and channels the bot cannot
// reach; bots.ErrRejected for other 4xx answers about our own request.
func (b *Bot) classify(op string, err error, note *rateNote) error {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		ra := &bots.RetryAfter{Global: note.scope(), Reason: "discord rate limit (429)"}
		if rl.RateLimit != nil && rl.TooManyRequests != nil {
			ra.After = rl.RetryAfter
		}
		return fmt.Errorf("discord: %s: %w", op, ra)
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		status, code, msg := re.Response.StatusCode, 0, ""
		if re.Message != nil {
			code, msg = re.Message.Code, re.Message.Message
		}
		desc := fmt.Sprintf("HTTP %d, code %d: %s", status, code, msg)
		switch {
		case code == codeCannotDM || code == codeUnknownChannel || code == codeUnknownUser ||
			code == codeMissingAccess || code == codeMissingPermissions:
			return fmt.Errorf("discord: %s: %s: %w", op, desc, bots.ErrUnreachable)
		case status == http.StatusTooManyRequests:
			return fmt.Errorf("discord: %s: %w", op, &bots.RetryAfter{Global: true, Reason: desc})
		case status >= 500 || status == http.StatusRequestTimeout:
			return fmt.Errorf("discord: %s: %w", op, &bots.RetryAfter{Reason: desc})
		case status == http.StatusUnauthorized:
			// A revoked token is the operator's to fix, not the message's fault: keep it queued.
			b.log.Error("discord: the API rejected the bot token; deliveries wait until it is fixed", "op", op)
			return fmt.Errorf("discord: %s: %w", op, &bots.RetryAfter{Reason: desc})
		default:
			return fmt.Errorf("discord: %s: %s: %w", op, desc, bots.ErrRejected)
		}
	}
	return fmt.Errorf("discord: %s: %w", op, &bots.RetryAfter{Reason: b.describe(err)})
}

var (
	interactionTokenRE = regexp.MustCompile(`(/interactions/[^/\s"]+/)[^/\s"?]+`)
	webhookTokenRE     = regexp.MustCompile(`(/webhooks/[^/\s"]+/)[^/\s"?]+`)
)

// describe turns an error into text safe to log: the bot token and interaction tokens
// (which appear in webhook URLs) are replaced.
func (b *Bot) describe(err error) string {
	if err == nil {
		return ""
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) && rl.RateLimit != nil && rl.TooManyRequests != nil {
		return "rate limited, retry after " + rl.RetryAfter.String()
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		if re.Message != nil {
			return fmt.Sprintf("HTTP %d, code %d: %s", re.Response.StatusCode, re.Message.Code, re.Message.Message)
		}
		return fmt.Sprintf("HTTP %d", re.Response.StatusCode)
	}
	return b.redact(err.Error())
}

func (b *Bot) redact(s string) string {
	if b.token != "" {
		s = strings.ReplaceAll(s, b.token, "[token]")
	}
	s = interactionTokenRE.ReplaceAllString(s, "${1}[token]")
	return webhookTokenRE.ReplaceAllString(s, "${1}[token]")
}
