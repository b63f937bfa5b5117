package api

func (s *Server) subscriptionRoutes() {}
