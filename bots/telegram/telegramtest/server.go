// Package telegramtest is a fake Telegram Bot API server for tests: it speaks the real
// protocol (POST /bot<token>/<method> with multipart, JSON or urlencoded parameters),
// records every call, serves getUpdates long polling from updates the test pushes,
// validates sent HTML like the real server and plays scripted failures.
package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-telegram/bot/models"
)

// Limits of the real Bot API, in UTF-16 units of the text after entity parsing.
const (
	MaxMessageText = 4096
	MaxCaption     = 1024
)

// Call is one Bot API request the server received.
type Call struct {
	Method string
	// Params holds every parameter as the wire carried it: strings as is, objects as JSON.
	Params map[string]string
	// Status is the HTTP status the server answered with.
	Status int
}

// Sent is a message the server accepted from sendMessage or sendPhoto.
type Sent struct {
	Method    string
	ChatID    string
	MessageID int
	// Text is the message text or photo caption as sent (HTML when ParseMode is "HTML").
	Text      string
	ParseMode string
	// Plain is the text after entity parsing, as a client shows it.
	Plain string
	Photo string
	// ReplyMarkup and LinkPreview are the raw JSON parameters, empty when absent.
	ReplyMarkup string
	LinkPreview string
}

// Failure is a scripted Bot API error answer.
type Failure struct {
	Code        int
	Description string
	// RetryAfter and MigrateToChatID fill the response's parameters object.
	RetryAfter      int
	MigrateToChatID int64
	// After lets this many matching calls succeed before the failure is played.
	After int
}

// Common failures of the real Bot API.
var (
	Blocked      = Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"}
	Deactivated  = Failure{Code: 403, Description: "Forbidden: user is deactivated"}
	Kicked       = Failure{Code: 403, Description: "Forbidden: bot was kicked from the group chat"}
	ChatNotFound = Failure{Code: 400, Description: "Bad Request: chat not found"}
	CantParse    = Failure{Code: 400, Description: "Bad Request: can't parse entities: unsupported start tag \"x\" at byte offset 0"}
	ServerError  = Failure{Code: 500, Description: "Internal Server Error"}
	PhotoInvalid = Failure{Code: 400, Description: "Bad Request: wrong type of the web page content"}
)

// TooManyRequests is a flood-control answer asking to wait after seconds.
func TooManyRequests(after int) Failure {
	return Failure{Code: 429, Description: fmt.Sprintf("Too Many Requests: retry after %d", after), RetryAfter: after}
}

// Migrated is the answer for a group that became the supergroup newChatID.
func Migrated(newChatID int64) Failure {
	return Failure{Code: 400, Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateToChatID: newChatID}
}

// Server is a fake Bot API server; create it with NewServer and Close it when done.
type Server struct {
	// URL is the base URL to pass to the bot as its API server.
	URL string
	// Token is the only token the server accepts; others get 401 Unauthorized.
	Token string
	// Username is the bot's username returned by getMe.
	Username string

	srv *httptest.Server

	mu          sync.Mutex
	calls       []Call
	sent        []Sent
	updates     []models.Update
	nextUpdate  int64
	nextMessage int
	pushed      chan struct{} // closed and replaced on every push
	failNext    map[string][]*Failure
	failChat    map[string]Failure
	webhookURL  string
	webhookKey  string
	callAdded   chan struct{}
}

// NewServer starts a fake Bot API server accepting token for the bot named username.
func NewServer(token, username string) *Server {
	s := &Server{
		Token: token, Username: username,
		nextUpdate: 1, nextMessage: 1,
		pushed:    make(chan struct{}),
		callAdded: make(chan struct{}),
		failNext:  map[string][]*Failure{},
		failChat:  map[string]Failure{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, ending pending long polls.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// PushUpdate queues an update for getUpdates; a zero ID is assigned the next one.
func (s *Server) PushUpdate(u models.Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		u.ID = s.nextUpdate
	}
	s.nextUpdate = max(s.nextUpdate, u.ID+1)
	s.updates = append(s.updates, u)
	close(s.pushed)
	s.pushed = make(chan struct{})
}

var messageSeq atomic.Int64

// TextUpdate builds a message update from user fromID in chat chatID of chatType
// ("private", "group", "supergroup"); a leading /command gets its bot_command entity.
func TextUpdate(chatID int64, chatType string, fromID int64, text string) models.Update {
	msg := &models.Message{
		ID:   int(messageSeq.Add(1)),
		Date: int(time.Now().Unix()),
		Chat: models.Chat{ID: chatID, Type: models.ChatType(chatType)},
		From: &models.User{ID: fromID, FirstName: "Reader"},
		Text: text,
	}
	if chatType != "private" {
		msg.Chat.Title = "A group"
	}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		msg.Entities = []models.MessageEntity{{Type: models.MessageEntityTypeBotCommand, Offset: 0, Length: UTF16Len(cmd)}}
	}
	return models.Update{Message: msg}
}

// ChannelPostUpdate builds a channel post update (bots see their own channel's posts).
func ChannelPostUpdate(chatID int64, text string) models.Update {
	return models.Update{ChannelPost: &models.Message{
		Date: int(time.Now().Unix()),
		Chat: models.Chat{ID: chatID, Type: models.ChatTypeChannel, Title: "A channel"},
		Text: text,
	}}
}

// FailNext makes the next call of method (after f.After successful ones) answer with f.
func (s *Server) FailNext(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[method] = append(s.failNext[method], &f)
}

// FailChat makes every send to chatID answer with f until ClearChat.
func (s *Server) FailChat(chatID string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failChat[chatID] = f
}

// ClearChat ends a FailChat.
func (s *Server) ClearChat(chatID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failChat, chatID)
}

// Calls returns every call received so far, in order; with methods given, only calls of those.
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// Sent returns the messages accepted so far; with chatIDs given, only those to these chats.
func (s *Server) Sent(chatIDs ...string) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Sent
	for _, m := range s.sent {
		if len(chatIDs) == 0 || slices.Contains(chatIDs, m.ChatID) {
			out = append(out, m)
		}
	}
	return out
}

// SentCount returns how many messages were accepted so far, without copying them: cheap
// enough to poll while thousands of messages flow.
func (s *Server) SentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}

// WaitCalls waits until at least n calls of method were received and returns them.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	for {
		s.mu.Lock()
		added := s.callAdded
		s.mu.Unlock()
		if calls := s.Calls(method); len(calls) >= n {
			return calls, nil
		}
		select {
		case <-ctx.Done():
			return s.Calls(method), fmt.Errorf("telegramtest: %d %s calls, want %d: %w", len(s.Calls(method)), method, n, ctx.Err())
		case <-added:
		}
	}
}

// Webhook returns the URL and secret token of the last setWebhook ("" after deleteWebhook).
func (s *Server) Webhook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhookURL, s.webhookKey
}

// DeliverWebhook posts u to the registered webhook with its secret token, as Telegram does,
// and returns the HTTP status of the answer.
func (s *Server) DeliverWebhook(ctx context.Context, u models.Update) (int, error) {
	hook, secret := s.Webhook()
	if hook == "" {
		return 0, fmt.Errorf("telegramtest: no webhook set")
	}
	if u.ID == 0 {
		s.mu.Lock()
		u.ID = s.nextUpdate
		s.nextUpdate++
		s.mu.Unlock()
	}
	body, err := json.Marshal(u)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

type response struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	RetryAfter      int   `json:"retry_after,omitempty"`
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeJSON(w, 404, response{ErrorCode: 404, Description: "Not Found"})
		return
	}
	params, err := readParams(r)
	call := Call{Method: method, Params: params}
	if token != s.Token {
		call.Status = 401
		s.record(call)
		writeJSON(w, 401, response{ErrorCode: 401, Description: "Unauthorized"})
		return
	}
	if err != nil {
		call.Status = 400
		s.record(call)
		writeJSON(w, 400, response{ErrorCode: 400, Description: "Bad Request: " + err.Error()})
		return
	}
	if method == "getUpdates" {
		// Long polls are recorded when they start so tests can wait for the bot to be polling.
		call.Status = 200
		s.record(call)
		s.getUpdates(w, r, params)
		return
	}
	status, resp := s.answer(method, params)
	call.Status = status
	s.record(call)
	writeJSON(w, status, resp)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	close(s.callAdded)
	s.callAdded = make(chan struct{})
}

func writeJSON(w http.ResponseWriter, status int, resp response) {
	resp.OK = status == 200
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func fail(f Failure) (int, response) {
	resp := response{ErrorCode: f.Code, Description: f.Description}
	if f.RetryAfter != 0 || f.MigrateToChatID != 0 {
		resp.Parameters = &responseParams{RetryAfter: f.RetryAfter, MigrateToChatID: f.MigrateToChatID}
	}
	return f.Code, resp
}

// scripted returns the failure to play for this call, if any.
func (s *Server) scripted(method, chatID string) *Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.failNext[method]; len(q) > 0 {
		if q[0].After > 0 {
			q[0].After--
		} else {
			f := q[0]
			s.failNext[method] = q[1:]
			return f
		}
	}
	if f, ok := s.failChat[chatID]; ok && chatID != "" {
		return &f
	}
	return nil
}

func (s *Server) answer(method string, p map[string]string) (int, response) {
	if f := s.scripted(method, p["chat_id"]); f != nil {
		return fail(*f)
	}
	switch method {
	case "getMe":
		return 200, response{Result: models.User{ID: botID(s.Token), IsBot: true, FirstName: "Herald", Username: s.Username}}
	case "setMyCommands":
		var cmds []models.BotCommand
		if err := json.Unmarshal([]byte(p["commands"]), &cmds); err != nil || len(cmds) == 0 {
			return fail(Failure{Code: 400, Description: "Bad Request: can't parse commands"})
		}
		for _, c := range cmds {
			if c.Command == "" || len(c.Command) > 32 || c.Command != strings.ToLower(c.Command) || c.Description == "" || len(c.Description) > 256 {
				return fail(Failure{Code: 400, Description: "Bad Request: BOT_COMMAND_INVALID"})
			}
		}
		return 200, response{Result: true}
	case "setWebhook":
		if p["url"] != "" {
			if u, err := url.Parse(p["url"]); err != nil || u.Host == "" {
				return fail(Failure{Code: 400, Description: "Bad Request: bad webhook: invalid URL"})
			}
		}
		s.mu.Lock()
		s.webhookURL, s.webhookKey = p["url"], p["secret_token"]
		s.mu.Unlock()
		return 200, response{Result: true, Description: "Webhook was set"}
	case "deleteWebhook":
		s.mu.Lock()
		s.webhookURL, s.webhookKey = "", ""
		s.mu.Unlock()
		return 200, response{Result: true, Description: "Webhook was deleted"}
	case "sendMessage", "sendPhoto":
		return s.send(method, p)
	}
	return fail(Failure{Code: 404, Description: "Not Found: method not found"})
}

func (s *Server) send(method string, p map[string]string) (int, response) {
	chatID := p["chat_id"]
	if chatID == "" {
		return fail(Failure{Code: 400, Description: "Bad Request: chat_id is empty"})
	}
	text, limit, what := p["text"], MaxMessageText, "message"
	if method == "sendPhoto" {
		text, limit, what = p["caption"], MaxCaption, "message caption"
		if p["photo"] == "" {
			return fail(Failure{Code: 400, Description: "Bad Request: there is no photo in the request"})
		}
	}
	plain := strings.TrimSpace(text)
	if p["parse_mode"] == "HTML" {
		var err error
		if plain, err = ParseHTML(text); err != nil {
			return fail(Failure{Code: 400, Description: "Bad Request: can't parse entities: " + err.Error()})
		}
	} else if p["parse_mode"] != "" {
		return fail(Failure{Code: 400, Description: "Bad Request: unsupported parse_mode"})
	}
	if method == "sendMessage" && plain == "" {
		return fail(Failure{Code: 400, Description: "Bad Request: message text is empty"})
	}
	if UTF16Len(plain) > limit {
		return fail(Failure{Code: 400, Description: "Bad Request: " + what + " is too long"})
	}
	if rm := p["reply_markup"]; rm != "" {
		if desc := checkKeyboard(rm); desc != "" {
			return fail(Failure{Code: 400, Description: "Bad Request: " + desc})
		}
	}
	chat := chatFor(chatID)
	s.mu.Lock()
	id := s.nextMessage
	s.nextMessage++
	s.sent = append(s.sent, Sent{
		Method: method, ChatID: chatID, MessageID: id, Text: text, ParseMode: p["parse_mode"], Plain: plain,
		Photo: p["photo"], ReplyMarkup: p["reply_markup"], LinkPreview: p["link_preview_options"],
	})
	s.mu.Unlock()
	msg := models.Message{ID: id, Date: int(time.Now().Unix()), Chat: chat}
	if method == "sendPhoto" {
		msg.Caption = plain
		msg.Photo = []models.PhotoSize{{FileID: "photo", FileUniqueID: "photo", Width: 800, Height: 600}}
	} else {
		msg.Text = plain
	}
	return 200, response{Result: msg}
}

// chatFor resolves a chat_id parameter: numeric ids as is, @usernames to a stable negative id.
func chatFor(chatID string) models.Chat {
	if name, ok := strings.CutPrefix(chatID, "@"); ok {
		h := fnv.New32a()
		h.Write([]byte(name))
		return models.Chat{ID: -1_000_000_000_000 - int64(h.Sum32()), Type: models.ChatTypeChannel, Username: name}
	}
	id, _ := strconv.ParseInt(chatID, 10, 64)
	switch {
	case id > 0:
		return models.Chat{ID: id, Type: models.ChatTypePrivate}
	case id < -1_000_000_000_000:
		return models.Chat{ID: id, Type: models.ChatTypeSupergroup}
	default:
		return models.Chat{ID: id, Type: models.ChatTypeGroup}
	}
}

func botID(token string) int64 {
	id, _ := strconv.ParseInt(strings.Split(token, ":")[0], 10, 64)
	return id
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, p map[string]string) {
	offset, _ := strconv.ParseInt(p["offset"], 10, 64)
	timeout, _ := strconv.Atoi(p["timeout"])
	if f := s.scripted("getUpdates", ""); f != nil {
		writeJSON(w, f.Code, func() response { _, r := fail(*f); return r }())
		return
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if offset > 0 {
			// Asking from offset confirms every earlier update, as on the real server.
			s.updates = slices.DeleteFunc(s.updates, func(u models.Update) bool { return u.ID < offset })
		}
		batch := slices.Clone(s.updates)
		pushed := s.pushed
		s.mu.Unlock()
		if len(batch) > 0 || timeout <= 0 {
			if len(batch) > 100 {
				batch = batch[:100]
			}
			if batch == nil {
				batch = []models.Update{}
			}
			writeJSON(w, 200, response{Result: batch})
			return
		}
		select {
		case <-pushed:
		case <-deadline.C:
			writeJSON(w, 200, response{Result: []models.Update{}})
			return
		case <-r.Context().Done():
			return
		}
	}
}

// readParams reads the call's parameters from a multipart form, a JSON object, an
// urlencoded form or the query string, as clients of the Bot API may send them.
func readParams(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		out[k] = v[0]
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return out, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		// Methods without parameters come with an empty body (the library still labels it multipart).
		return out, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return out, fmt.Errorf("can't parse multipart form: %w", err)
		}
		for k, v := range r.MultipartForm.Value {
			out[k] = v[0]
		}
		for k, v := range r.MultipartForm.File {
			out[k] = "attach://" + v[0].Filename
		}
	case "application/json":
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return out, fmt.Errorf("can't parse JSON object: %w", err)
		}
		for k, raw := range obj {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				out[k] = str
			} else {
				out[k] = string(raw)
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return out, err
		}
		for k, v := range r.PostForm {
			out[k] = v[0]
		}
	}
	return out, nil
}

// checkKeyboard validates an inline keyboard: every button has a text and exactly one
// button type, and URL buttons have an absolute URL. It returns the error description.
func checkKeyboard(markup string) string {
	var kb struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(markup), &kb); err != nil {
		return "can't parse reply keyboard markup JSON object"
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			var text string
			if json.Unmarshal(b["text"], &text) != nil || text == "" {
				return "can't parse inline keyboard button: text is empty"
			}
			types := 0
			for k := range b {
				switch k {
				case "text", "icon_custom_emoji_id", "style":
				default:
					types++
				}
			}
			if types != 1 {
				return "can't parse inline keyboard button: exactly one of the optional fields must be used"
			}
			if raw, ok := b["url"]; ok {
				var s string
				_ = json.Unmarshal(raw, &s)
				if u, err := url.Parse(s); err != nil || u.Host == "" {
					return "BUTTON_URL_INVALID"
				}
			}
		}
	}
	return ""
}
