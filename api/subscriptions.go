package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/heraldnews/herald/store"
)

func (s *Server) subscriptionRoutes() {
	s.mux.HandleFunc("PUT /v1/subscriptions/{external_id}", s.authed(s.putSubscription))
	s.mux.HandleFunc("GET /v1/subscriptions/{external_id}", s.authed(s.getSubscription))
	s.mux.HandleFunc("POST /v1/subscriptions/{external_id}/link-codes", s.authed(s.postLinkCode))
}

// SubscriptionJSON is a subscription as the API shows it, with its live links.
type SubscriptionJSON struct {
	ID               int64      `json:"id"`
	ExternalID       string     `json:"external_id"`
	Email            string     `json:"email"`
	Plan             string     `json:"plan"`
	Status           string     `json:"status"`
	CurrentPeriodEnd *time.Time `json:"current_period_end"`
	GraceUntil       *time.Time `json:"grace_until"`
	Entitled         bool       `json:"entitled"`
	EntitledUntil    *time.Time `json:"entitled_until"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	Links            []LinkJSON `json:"links"`
}

// LinkJSON is one chat account linked to a subscription.
type LinkJSON struct {
	Platform          string     `json:"platform"`
	UserID            string     `json:"user_id"`
	Paused            bool       `json:"paused"`
	Reachable         bool       `json:"reachable"`
	UnreachableSince  *time.Time `json:"unreachable_since,omitempty"`
	UnreachableReason string     `json:"unreachable_reason,omitempty"`
	LinkedAt          time.Time  `json:"linked_at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// NewSubscriptionJSON renders a subscription and its links as of now.
func NewSubscriptionJSON(sub store.Subscription, links []store.Link, now time.Time) SubscriptionJSON {
	out := SubscriptionJSON{
		ID: sub.ID, ExternalID: sub.ExternalID, Email: sub.Email, Plan: sub.Plan, Status: sub.Status,
		CurrentPeriodEnd: timePtr(sub.CurrentPeriodEnd), GraceUntil: timePtr(sub.GraceUntil),
		Entitled: sub.EntitledAt(now), CreatedAt: sub.CreatedAt, UpdatedAt: sub.UpdatedAt, Links: []LinkJSON{},
	}
	if out.Entitled {
		out.EntitledUntil = timePtr(sub.EntitledUntil())
	}
	for _, l := range links {
		out.Links = append(out.Links, LinkJSON{Platform: l.Platform, UserID: l.UserID, Paused: l.Paused, Reachable: l.Reachable(),
			UnreachableSince: timePtr(l.UnreachableAt), UnreachableReason: l.UnreachableReason, LinkedAt: l.CreatedAt})
	}
	return out
}

// subscriptionBody is the PUT body; every field is replaced, absent optional ones are cleared.
type subscriptionBody struct {
	Email            string `json:"email"`
	Plan             string `json:"plan"`
	Status           string `json:"status"`
	CurrentPeriodEnd string `json:"current_period_end"`
	GraceUntil       string `json:"grace_until"`
}

// readSubJSON reads one JSON object into v, refusing unknown fields. It answers the client itself
// (400 naming the field, or 413) and returns false when the body is unusable. An empty body is
// allowed when optional is true.
func readSubJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	raw, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "", "reading the body failed")
		return false
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if optional {
			return true
		}
		writeError(w, http.StatusBadRequest, "", "a JSON object body is required")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("one JSON object expected, found more")
	}
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		writeError(w, http.StatusBadRequest, typeErr.Field, fmt.Sprintf("%s must be a %s", typeErr.Field, typeErr.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeError(w, http.StatusBadRequest, field, "unknown field "+field)
	default:
		writeError(w, http.StatusBadRequest, "", "invalid JSON: "+err.Error())
	}
	return false
}

func parseAPITime(field, v string) (time.Time, *store.FieldError) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, &store.FieldError{Field: field, Reason: "must be an RFC 3339 time such as 2025-04-01T00:00:00Z"}
	}
	return t.UTC(), nil
}

// putSubscription upserts the subscription named in the path: 201 when created, 200 otherwise.
func (s *Server) putSubscription(w http.ResponseWriter, r *http.Request) {
	var body subscriptionBody
	if !readSubJSON(w, r, &body, false) {
		return
	}
	sub := store.Subscription{ExternalID: r.PathValue("external_id"), Email: body.Email, Plan: body.Plan, Status: body.Status}
	var fe *store.FieldError
	if sub.CurrentPeriodEnd, fe = parseAPITime("current_period_end", body.CurrentPeriodEnd); fe != nil {
		writeError(w, http.StatusBadRequest, fe.Field, fe.Field+" "+fe.Reason)
		return
	}
	if sub.GraceUntil, fe = parseAPITime("grace_until", body.GraceUntil); fe != nil {
		writeError(w, http.StatusBadRequest, fe.Field, fe.Field+" "+fe.Reason)
		return
	}
	saved, ch, err := s.store.UpsertSubscription(r.Context(), sub)
	if errors.As(err, &fe) {
		writeError(w, http.StatusBadRequest, fe.Field, fe.Field+" "+fe.Reason)
		return
	}
	if err != nil {
		s.logger.Error("upserting a subscription", "err", err)
		writeError(w, http.StatusInternalServerError, "", "storing the subscription failed")
		return
	}
	out, ok := s.subscriptionJSON(w, r, saved)
	if !ok {
		return
	}
	code := http.StatusOK
	if ch == store.SubscriptionCreated {
		code = http.StatusCreated
	}
	s.logger.Info("subscription upserted", "subscription", saved.ID, "change", ch.String())
	writeJSON(w, code, out)
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request) {
	sub, err := s.store.GetSubscription(r.Context(), r.PathValue("external_id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "", "no such subscription")
		return
	}
	if err != nil {
		s.logger.Error("reading a subscription", "err", err)
		writeError(w, http.StatusInternalServerError, "", "reading the subscription failed")
		return
	}
	if out, ok := s.subscriptionJSON(w, r, sub); ok {
		writeJSON(w, http.StatusOK, out)
	}
}

// subscriptionJSON adds the subscription's links for the response; on a database error it has
// answered 500 itself and reports false.
func (s *Server) subscriptionJSON(w http.ResponseWriter, r *http.Request, sub store.Subscription) (SubscriptionJSON, bool) {
	links, err := s.store.LinksForSubscription(r.Context(), sub.ID)
	if err != nil {
		s.logger.Error("reading links", "err", err)
		writeError(w, http.StatusInternalServerError, "", "reading the subscription's links failed")
		return SubscriptionJSON{}, false
	}
	return NewSubscriptionJSON(sub, links, s.store.Now()), true
}

// LinkCodeJSON is a freshly minted link code; the publisher's website shows Code and offers TelegramURL.
type LinkCodeJSON struct {
	Code        string    `json:"code"` // XXXXX-XXXXX, as the reader types it
	Platform    string    `json:"platform,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
	TelegramURL string    `json:"telegram_url,omitempty"`
}

type linkCodeBody struct {
	Platform   string `json:"platform"`
	TTLSeconds int64  `json:"ttl_seconds"`
}

// postLinkCode mints a link code for the subscription: what the publisher's website calls after the
// reader has logged in there. The response is never cached and the code is never logged.
func (s *Server) postLinkCode(w http.ResponseWriter, r *http.Request) {
	var body linkCodeBody
	if !readSubJSON(w, r, &body, true) {
		return
	}
	body.Platform = strings.ToLower(strings.TrimSpace(body.Platform))
	if !store.ValidLinkPlatform(body.Platform) {
		writeError(w, http.StatusBadRequest, "platform", `platform must be "telegram", "discord" or empty for either`)
		return
	}
	ttl := time.Duration(body.TTLSeconds) * time.Second
	if body.TTLSeconds < 0 || ttl > store.MaxLinkCodeTTL {
		writeError(w, http.StatusBadRequest, "ttl_seconds", fmt.Sprintf("ttl_seconds must be between 1 and %d (0 for the default)", int64(store.MaxLinkCodeTTL/time.Second)))
		return
	}
	if ttl == 0 {
		ttl = s.linkCodeTTL
	}
	sub, err := s.store.GetSubscription(r.Context(), r.PathValue("external_id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "", "no such subscription")
		return
	}
	if err != nil {
		s.logger.Error("reading a subscription", "err", err)
		writeError(w, http.StatusInternalServerError, "", "reading the subscription failed")
		return
	}
	code, expires, err := s.store.MintLinkCode(r.Context(), sub.ID, body.Platform, ttl)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "", "no such subscription")
		return
	}
	if err != nil {
		s.logger.Error("minting a link code", "subscription", sub.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "", "minting the link code failed")
		return
	}
	out := LinkCodeJSON{Code: store.FormatLinkCode(code), Platform: body.Platform, ExpiresAt: expires}
	if s.telegramURL != "" && body.Platform != "discord" {
		out.TelegramURL = s.telegramURL + "?start=" + code
	}
	s.logger.Info("link code minted", "subscription", sub.ID, "platform", body.Platform, "expires_at", expires)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
}
