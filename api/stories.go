package api

import (
	"context"
	"net/http"
)

// StoryPusher takes in a story pushed by a CMS; ingest implements it.
type StoryPusher interface {
	// Push stores the story and returns its id and whether it was new.
	PushStory(ctx context.Context, body []byte) (id int64, created bool, err error)
}

func (s *Server) storyRoutes() {
	s.mux.HandleFunc("POST /v1/stories", s.authed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotImplemented, "", "story push is not available yet")
	}))
}
