package api

// routes registers the data routes; each feature adds its handlers in its own file.
func (s *Server) routes() {
	s.storyRoutes()
	s.subscriptionRoutes()
}
