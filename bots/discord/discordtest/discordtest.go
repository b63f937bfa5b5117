// Package discordtest is a fake Discord for tests: the REST API under /api/v9/ that Herald's
// adapter uses, recording every call, and a gateway websocket that says HELLO, accepts
// IDENTIFY, sends READY, acknowledges heartbeats and dispatches interactions on demand.
// Failures (DMs closed, missing permissions, 429, 500) can be scripted per route.
package discordtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Discord JSON error codes the fake can answer with.
const (
	CodeUnknownChannel     = 10003
	CodeMissingAccess      = 50001
	CodeCannotDM           = 50007
	CodeMissingPermissions = 50013
)

// Call is one REST request the fake received.
type Call struct {
	Method string
	// Path is relative to the API base, e.g. "/channels/42/messages".
	Path  string
	Query string
	Body  json.RawMessage
}

// Failure scripts an error answer for matching requests.
type Failure struct {
	// Method matches the HTTP method; empty matches any.
	Method string
	// Path matches the path relative to the API base exactly, or as a prefix when it ends in "*".
	Path string
	// Status is the HTTP status; Code and Message form Discord's JSON error body.
	Status  int
	Code    int
	Message string
	// RetryAfter and Global describe a 429; Unscoped leaves out the X-RateLimit-Scope and
	// X-RateLimit-Global headers, as a minimal proxy may.
	RetryAfter time.Duration
	Global     bool
	Unscoped   bool
	// Skip lets that many matching requests through before failing.
	Skip int
	// Times is how many requests fail; 0 means one.
	Times int
}

// Identify is what a client sent in its gateway IDENTIFY, minus the token.
type Identify struct {
	Intents int
	// TokenOK tells whether the token matched.
	TokenOK bool
}

// From is who sends an interaction and where: GuildID empty means the DM with the bot.
type From struct {
	UserID    string
	Username  string
	ChannelID string
	GuildID   string
}

// Option is a slash-command option value; its Discord type follows the Go type
// (string → 3, int → 4, bool → 5, float64 → 10).
type Option struct {
	Name    string
	Value   any
	Focused bool
}

// Interaction identifies a dispatched interaction, to find the answers to it.
type Interaction struct {
	ID    string
	Token string
}

// Server is a running fake Discord.
type Server struct {
	// APIURL is the REST base to configure the adapter with; it ends in "/api/v9/".
	APIURL string
	// Token is the bot token the fake accepts, without the "Bot " prefix.
	Token string
	// AppID and BotID are the application's and bot user's ids.
	AppID, BotID string

	srv *httptest.Server

	mu         sync.Mutex
	calls      []Call
	failures   []*Failure
	nextID     int64
	dms        map[string]string // user id → DM channel id
	dmUsers    map[string]string // DM channel id → user id
	closedDMs  map[string]bool   // user ids whose DMs refuse the bot
	identifies []Identify
	channels   map[string][]map[string]any // guild id → its channels
	conns      map[*gwConn]bool
	seq        int64
	changed    chan struct{} // closed and replaced on every recorded event
}

// New starts a fake Discord that accepts token; Close stops it.
func New(token string) *Server {
	s := &Server{
		Token: token, AppID: "700000000000000001", BotID: "700000000000000001",
		nextID: 900000000000000000, dms: map[string]string{}, dmUsers: map[string]string{},
		closedDMs: map[string]bool{}, channels: map[string][]map[string]any{}, conns: map[*gwConn]bool{}, changed: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v9/", s.rest)
	mux.HandleFunc("/gateway-ws/", s.gateway)
	mux.HandleFunc("/gateway-ws", s.gateway)
	s.srv = httptest.NewServer(mux)
	s.APIURL = s.srv.URL + "/api/v9/"
	return s
}

// Close disconnects gateway sessions and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	for c := range s.conns {
		c.ws.Close()
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Fail scripts an error answer for matching requests, checked before the normal routes.
func (s *Server) Fail(f Failure) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.failures = append(s.failures, &f)
	s.mu.Unlock()
}

// CloseDMs makes messages to the user's DM channel fail with 50007, as when a reader
// does not accept DMs from server members; OpenDMs undoes it.
func (s *Server) CloseDMs(userID string) {
	s.mu.Lock()
	s.closedDMs[userID] = true
	s.mu.Unlock()
}

// OpenDMs lets the bot DM the user again.
func (s *Server) OpenDMs(userID string) {
	s.mu.Lock()
	delete(s.closedDMs, userID)
	s.mu.Unlock()
}

// AddChannel adds a text channel to a guild, for GET /guilds/{id}/channels.
func (s *Server) AddChannel(guildID, channelID, name string) {
	s.mu.Lock()
	s.channels[guildID] = append(s.channels[guildID], map[string]any{"id": channelID, "name": name, "type": 0, "guild_id": guildID})
	s.mu.Unlock()
}

// DMChannel returns the DM channel id the fake assigned to a user, or "" if none was opened.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dms[userID]
}

// Calls returns every REST call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the calls with the method (any when empty) and path (a prefix when it ends in "*").
func (s *Server) CallsTo(method, path string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if (method == "" || c.Method == method) && pathMatch(path, c.Path) {
			out = append(out, c)
		}
	}
	return out
}

// WaitCalls waits until at least n calls match, or the timeout passes (then it returns an error).
func (s *Server) WaitCalls(method, path string, n int, timeout time.Duration) ([]Call, error) {
	return s.wait(timeout, func() ([]Call, bool) {
		c := s.CallsTo(method, path)
		return c, len(c) >= n
	}, fmt.Sprintf("%d calls to %s %s", n, method, path))
}

// Responses returns the calls that answer an interaction: its callback and its webhook calls.
func (s *Server) Responses(it Interaction) []Call {
	var out []Call
	for _, c := range s.Calls() {
		hook := "/webhooks/" + s.AppID + "/" + it.Token
		if strings.HasPrefix(c.Path, "/interactions/"+it.ID+"/"+it.Token+"/") || c.Path == hook || strings.HasPrefix(c.Path, hook+"/") {
			out = append(out, c)
		}
	}
	return out
}

// WaitResponses waits until an interaction has at least n answering calls.
func (s *Server) WaitResponses(it Interaction, n int, timeout time.Duration) ([]Call, error) {
	return s.wait(timeout, func() ([]Call, bool) {
		c := s.Responses(it)
		return c, len(c) >= n
	}, fmt.Sprintf("%d responses to interaction %s", n, it.ID))
}

// Identifies returns the gateway IDENTIFYs received.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identify(nil), s.identifies...)
}

// WaitConnected waits until a gateway session has identified and received READY.
func (s *Server) WaitConnected(timeout time.Duration) error {
	_, err := s.wait(timeout, func() ([]Call, bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return nil, len(s.conns) > 0
	}, "a gateway session")
	return err
}

func (s *Server) wait(timeout time.Duration, done func() ([]Call, bool), what string) ([]Call, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if c, ok := done(); ok {
			return c, nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			c, _ := done()
			return c, fmt.Errorf("discordtest: timed out waiting for %s", what)
		}
	}
}

// notify wakes waiters; the caller holds s.mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) id() string {
	s.nextID++
	return strconv.FormatInt(s.nextID, 10)
}

func pathMatch(pattern, path string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, p)
	}
	return pattern == path
}

// rest serves the REST API.
func (s *Server) rest(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := "/" + strings.TrimPrefix(r.URL.Path, "/api/v9/")
	call := Call{Method: r.Method, Path: path, Query: r.URL.RawQuery}
	if len(body) > 0 {
		call.Body = json.RawMessage(body)
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.notify()
	s.mu.Unlock()

	// Interaction callbacks and webhooks authenticate with their token in the URL.
	tokenInURL := strings.HasPrefix(path, "/interactions/") || strings.HasPrefix(path, "/webhooks/")
	if !tokenInURL && r.Header.Get("Authorization") != "Bot "+s.Token {
		writeError(w, http.StatusUnauthorized, 0, "401: Unauthorized")
		return
	}
	if f := s.failure(r.Method, path); f != nil {
		s.writeFailure(w, f)
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && (path == "/gateway" || path == "/gateway/bot"):
		ws := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/gateway-ws"
		writeJSON(w, http.StatusOK, map[string]any{"url": ws, "shards": 1,
			"session_start_limit": map[string]int{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
	case r.Method == http.MethodGet && path == "/users/@me":
		writeJSON(w, http.StatusOK, map[string]any{"id": s.BotID, "username": "herald", "bot": true})
	case r.Method == http.MethodGet && path == "/oauth2/applications/@me":
		writeJSON(w, http.StatusOK, map[string]any{"id": s.AppID, "name": "Herald"})
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "guilds" && parts[2] == "channels":
		s.mu.Lock()
		chans := append([]map[string]any{}, s.channels[parts[1]]...)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, chans)
	case r.Method == http.MethodPut && len(parts) >= 3 && parts[0] == "applications" && parts[len(parts)-1] == "commands":
		var cmds []map[string]any
		if err := json.Unmarshal(body, &cmds); err != nil {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
			return
		}
		s.mu.Lock()
		for _, c := range cmds {
			c["id"], c["application_id"], c["version"] = s.id(), s.AppID, "1"
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, cmds)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "channels" && parts[2] == "messages":
		s.mu.Lock()
		closed := s.closedDMs[s.dmUsers[parts[1]]]
		s.mu.Unlock()
		if closed {
			writeError(w, http.StatusForbidden, CodeCannotDM, "Cannot send messages to this user")
			return
		}
		s.writeMessage(w, parts[1], body)
	case r.Method == http.MethodPost && path == "/users/@me/channels":
		var req struct {
			RecipientID string `json:"recipient_id"`
		}
		_ = json.Unmarshal(body, &req)
		s.mu.Lock()
		ch, ok := s.dms[req.RecipientID]
		if !ok {
			ch = s.id()
			s.dms[req.RecipientID], s.dmUsers[ch] = ch, req.RecipientID
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"id": ch, "type": 1,
			"recipients": []map[string]any{{"id": req.RecipientID, "username": "reader"}}})
	case r.Method == http.MethodPost && len(parts) == 4 && parts[0] == "interactions" && parts[3] == "callback":
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "webhooks":
		s.writeMessage(w, "", body)
	case (r.Method == http.MethodPatch || r.Method == http.MethodGet) && len(parts) == 5 && parts[0] == "webhooks" && parts[3] == "messages":
		s.writeMessage(w, "", body)
	case r.Method == http.MethodDelete && len(parts) == 5 && parts[0] == "webhooks" && parts[3] == "messages":
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
	}
}

func (s *Server) writeMessage(w http.ResponseWriter, channel string, body []byte) {
	var in struct {
		Content string `json:"content"`
	}
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	id := s.id()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "channel_id": channel, "content": in.Content, "type": 0,
		"author": map[string]any{"id": s.BotID, "username": "herald", "bot": true}})
}

func (s *Server) failure(method, path string) *Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.failures {
		if (f.Method == "" || f.Method == method) && pathMatch(f.Path, path) {
			if f.Skip > 0 {
				f.Skip--
				continue
			}
			f.Times--
			if f.Times <= 0 {
				s.failures = append(s.failures[:i], s.failures[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func (s *Server) writeFailure(w http.ResponseWriter, f *Failure) {
	if f.Status == http.StatusTooManyRequests {
		secs := f.RetryAfter.Seconds()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
		scope := "user"
		if f.Global {
			w.Header().Set("X-RateLimit-Global", "true")
			scope = "global"
		}
		if f.Unscoped {
			w.Header().Del("X-RateLimit-Global")
		} else {
			w.Header().Set("X-RateLimit-Scope", scope)
		}
		writeJSON(w, f.Status, map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": f.Global})
		return
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	writeError(w, f.Status, f.Code, msg)
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// gwConn is one gateway session; writes are serialized.
type gwConn struct {
	ws *websocket.Conn
	mu sync.Mutex
}

func (c *gwConn) send(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WriteJSON(v)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// gateway speaks enough of the gateway protocol for a bot session: HELLO, IDENTIFY, READY, heartbeats.
func (s *Server) gateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws}
	defer ws.Close()
	if c.send(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 41250}}) != nil {
		return
	}
	var ident struct {
		Op int `json:"op"`
		D  struct {
			Token   string `json:"token"`
			Intents int    `json:"intents"`
		} `json:"d"`
	}
	if err := ws.ReadJSON(&ident); err != nil || ident.Op != 2 {
		return
	}
	ok := ident.D.Token == "Bot "+s.Token
	s.mu.Lock()
	s.identifies = append(s.identifies, Identify{Intents: ident.D.Intents, TokenOK: ok})
	s.notify()
	s.mu.Unlock()
	if !ok {
		c.mu.Lock()
		_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."))
		c.mu.Unlock()
		return
	}
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	ready := map[string]any{"op": 0, "s": seq, "t": "READY", "d": map[string]any{
		"v": 9, "session_id": "fake-session", "user": map[string]any{"id": s.BotID, "username": "herald", "bot": true},
		"guilds": []any{}, "application": map[string]any{"id": s.AppID, "flags": 0},
	}}
	if c.send(ready) != nil {
		return
	}
	s.mu.Lock()
	s.conns[c] = true
	s.notify()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.notify()
		s.mu.Unlock()
	}()
	for {
		var msg struct {
			Op int `json:"op"`
		}
		if err := ws.ReadJSON(&msg); err != nil {
			return
		}
		if msg.Op == 1 {
			if c.send(map[string]any{"op": 11}) != nil {
				return
			}
		}
	}
}

// Dispatch sends a gateway event to every connected session.
func (s *Server) Dispatch(event string, data any) error {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	conns := make([]*gwConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if len(conns) == 0 {
		return errors.New("discordtest: no gateway session is connected")
	}
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.send(map[string]any{"op": 0, "s": seq, "t": event, "d": data}))
	}
	return errors.Join(errs...)
}

// SlashCommand dispatches an application-command interaction.
func (s *Server) SlashCommand(from From, name string, opts ...Option) (Interaction, error) {
	return s.interact(from, 2, map[string]any{"id": "cmd-" + name, "name": name, "type": 1, "options": options(opts)}, nil)
}

// Autocomplete dispatches an autocomplete interaction; mark the option being typed Focused.
func (s *Server) Autocomplete(from From, name string, opts ...Option) (Interaction, error) {
	return s.interact(from, 4, map[string]any{"id": "cmd-" + name, "name": name, "type": 1, "options": options(opts)}, nil)
}

// PressButton dispatches a button interaction on a message the bot posted.
func (s *Server) PressButton(from From, messageID, customID string) (Interaction, error) {
	msg := map[string]any{"id": messageID, "channel_id": from.ChannelID, "content": "",
		"author": map[string]any{"id": s.BotID, "username": "herald", "bot": true}}
	return s.interact(from, 3, map[string]any{"custom_id": customID, "component_type": 2}, msg)
}

func options(opts []Option) []map[string]any {
	out := make([]map[string]any, 0, len(opts))
	for _, o := range opts {
		typ := 3
		switch o.Value.(type) {
		case int, int64:
			typ = 4
		case bool:
			typ = 5
		case float64:
			typ = 10
		}
		m := map[string]any{"name": o.Name, "type": typ, "value": o.Value}
		if o.Focused {
			m["focused"] = true
		}
		out = append(out, m)
	}
	return out
}

func (s *Server) interact(from From, typ int, data map[string]any, message map[string]any) (Interaction, error) {
	s.mu.Lock()
	it := Interaction{ID: s.id(), Token: "itok-" + s.id()}
	s.mu.Unlock()
	name := from.Username
	if name == "" {
		name = "reader"
	}
	user := map[string]any{"id": from.UserID, "username": name}
	d := map[string]any{"id": it.ID, "application_id": s.AppID, "type": typ, "token": it.Token, "version": 1,
		"channel_id": from.ChannelID, "data": data, "locale": "en-US"}
	if from.GuildID != "" {
		d["guild_id"], d["context"] = from.GuildID, 0
		d["member"] = map[string]any{"user": user, "roles": []string{}}
	} else {
		d["user"], d["context"] = user, 1
	}
	if message != nil {
		d["message"] = message
	}
	return it, s.Dispatch("INTERACTION_CREATE", d)
}
