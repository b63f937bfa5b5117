// Package api is the operator's HTTP server: health, metrics, story push, subscriptions and link codes.
package api

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/heraldnews/herald/store"
)

// MaxBodyBytes bounds every request body; larger bodies get 413.
const MaxBodyBytes = 10 << 20

// Server serves the operator API. Routes that change data require the bearer token.
type Server struct {
	store  *store.Store
	token  string
	logger *slog.Logger
	mux    *http.ServeMux
	// Pusher accepts pushed stories (POST /v1/stories); nil disables the route.
	pusher StoryPusher
	// TelegramURL makes the deep link for link codes, e.g. "https://t.me/herald_bot"; empty when unknown.
	telegramURL string
	// linkCodeTTL is the lifetime of minted link codes when the request names none; 0 is the store's default.
	linkCodeTTL time.Duration
}

// Options configures a Server.
type Options struct {
	Store  *store.Store
	Token  string // bearer token; when empty, authenticated routes answer 401 to everyone
	Logger *slog.Logger
	// Gatherer serves /metrics; nil uses prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	Pusher   StoryPusher
	// TelegramBotUsername, when set, makes link-code responses carry a t.me deep link.
	TelegramBotUsername string
	// LinkCodeTTL is how long minted link codes stay valid ([links] code_ttl); 0 uses the store's default.
	LinkCodeTTL time.Duration
}

// New builds the server and its routes.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.DefaultGatherer
	}
	s := &Server{store: o.Store, token: o.Token, logger: o.Logger.With("component", "api"), mux: http.NewServeMux(), pusher: o.Pusher, linkCodeTTL: o.LinkCodeTTL}
	if o.TelegramBotUsername != "" {
		s.telegramURL = "https://t.me/" + strings.TrimPrefix(o.TelegramBotUsername, "@")
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	s.routes()
	return s
}

// Handle adds a route, for components that own their endpoint (the Telegram webhook).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	v, err := s.store.SchemaVersion(r.Context())
	if err != nil {
		s.logger.Error("health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "error", "error": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "schema_version": v})
}

// authed wraps h so that it runs only with the right bearer token, compared in constant time.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || s.token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
			writeError(w, http.StatusUnauthorized, "", "missing or wrong bearer token")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg, "field": field}; field names the bad input when there is one.
func writeError(w http.ResponseWriter, code int, field, msg string) {
	body := map[string]string{"error": msg}
	if field != "" {
		body["field"] = field
	}
	writeJSON(w, code, body)
}
