package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldnews/herald/ingest"
)

// StoryPusher takes in a story pushed by a CMS; *ingest.Pipeline implements it.
type StoryPusher interface {
	// Push stores the story (idempotent on its GUID) and queues it when new. It returns the
	// story id, whether it was new and whether its deliveries were queued.
	Push(ctx context.Context, in ingest.Input) (id int64, created, queued bool, err error)
}

var _ StoryPusher = (*ingest.Pipeline)(nil)

// Limits on pushed fields, so one bad request cannot store unbounded metadata.
const (
	maxGUIDLen  = 1024
	maxTitleLen = 2000
	maxURLLen   = 4096
)

// pushRequest is the body of POST /v1/stories.
type pushRequest struct {
	GUID        string  `json:"guid"`
	URL         string  `json:"url"`
	Title       string  `json:"title"`
	Byline      string  `json:"byline"`
	PublishedAt string  `json:"published_at"`
	HTML        *string `json:"html"`
	Text        *string `json:"text"`
	ImageURL    string  `json:"image_url"`
}

// pushResponse is the answer to a push.
type pushResponse struct {
	ID      int64 `json:"id"`
	Created bool  `json:"created"`
	Queued  bool  `json:"queued"`
}

// fieldError is a validation failure naming the offending field.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func (s *Server) storyRoutes() {
	s.mux.HandleFunc("POST /v1/stories", s.authed(s.pushStory))
}

// pushStory answers 201 for a new story, 200 for one already known by its GUID (or URL),
// 400 naming the bad field, 413 for a body over MaxBodyBytes.
func (s *Server) pushStory(w http.ResponseWriter, r *http.Request) {
	if s.pusher == nil {
		writeError(w, http.StatusNotImplemented, "", "story push is not configured")
		return
	}
	var req pushRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		var tooBig *http.MaxBytesError
		var fe *fieldError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("request body over %d bytes", tooBig.Limit))
		case errors.As(err, &fe):
			writeError(w, http.StatusBadRequest, fe.field, fe.msg)
		default:
			writeError(w, http.StatusBadRequest, "", err.Error())
		}
		return
	}
	in, err := req.input()
	if err != nil {
		var fe *fieldError
		errors.As(err, &fe)
		writeError(w, http.StatusBadRequest, fe.field, fe.msg)
		return
	}
	id, created, queued, err := s.pusher.Push(r.Context(), in)
	if err != nil {
		s.logger.Error("story push failed", "guid", in.GUID, "err", err)
		writeError(w, http.StatusInternalServerError, "", "could not store the story")
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, pushResponse{ID: id, Created: created, Queued: queued})
}

// decodeJSON decodes one JSON object from body, turning type errors into field errors.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return &fieldError{te.Field, "must be a " + te.Type.String()}
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("the body is not valid JSON")
		case errors.Is(err, io.EOF):
			return errors.New("empty body: a JSON object is required")
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return errors.New("the body must be one JSON object")
	}
	return nil
}

// input validates the request and builds the pipeline input.
func (p *pushRequest) input() (ingest.Input, error) {
	in := ingest.Input{
		GUID:   strings.TrimSpace(p.GUID),
		Title:  strings.TrimSpace(p.Title),
		Byline: strings.TrimSpace(p.Byline),
	}
	switch {
	case in.GUID == "":
		return in, &fieldError{"guid", "required"}
	case len(in.GUID) > maxGUIDLen:
		return in, &fieldError{"guid", fmt.Sprintf("longer than %d bytes", maxGUIDLen)}
	case in.Title == "":
		return in, &fieldError{"title", "required"}
	case len(in.Title) > maxTitleLen:
		return in, &fieldError{"title", fmt.Sprintf("longer than %d bytes", maxTitleLen)}
	}
	hasHTML := p.HTML != nil && strings.TrimSpace(*p.HTML) != ""
	hasText := p.Text != nil && strings.TrimSpace(*p.Text) != ""
	switch {
	case hasHTML && hasText:
		return in, &fieldError{"text", "give exactly one of html or text, not both"}
	case !hasHTML && !hasText:
		return in, &fieldError{"html", "exactly one of html or text is required"}
	case hasHTML:
		in.HTML = *p.HTML
	default:
		in.Text = *p.Text
	}
	var err error
	if in.URL, err = absoluteHTTP("url", p.URL); err != nil {
		return in, err
	}
	if in.ImageURL, err = absoluteHTTP("image_url", p.ImageURL); err != nil {
		return in, err
	}
	if ts := strings.TrimSpace(p.PublishedAt); ts != "" {
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return in, &fieldError{"published_at", "must be an RFC 3339 time such as 2025-03-01T12:00:00Z"}
		}
		in.PublishedAt = t.UTC()
	}
	return in, nil
}

// absoluteHTTP checks that a non-empty value is an absolute http(s) URL.
func absoluteHTTP(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	if len(raw) > maxURLLen {
		return "", &fieldError{field, fmt.Sprintf("longer than %d bytes", maxURLLen)}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &fieldError{field, "must be an absolute http or https URL"}
	}
	return raw, nil
}
