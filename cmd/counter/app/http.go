package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// maxMessageBytes bounds the client message read: the routes need none of it (the route
// arrives in the RouteKey header), and a WebSocket frame is at most 128 KiB anyway.
const maxMessageBytes = 128 * 1024

// RouteTimeout bounds a route's run in ServeHTTP, the counter and the broadcast: the
// notifier of cmd/counter posts to pusher dev with an HTTP client that has no timeout
// of its own (send.Send's), so the request's context is its only bound.
const RouteTimeout = 10 * time.Second

// ServeHTTP answers a client message forwarded by an HTTP proxy integration, as the local
// gateway's ROUTE_BACKEND does and API Gateway's does with the request parameters
// integration.request.header.RouteKey = context.routeKey and ConnectionId =
// context.connectionId: a POST whose RouteKey header names the route and whose body is the
// client's message. It answers 200 with the frame for the client; 400 for an unknown
// route, 500 when the counter or the broadcast failed or took more than RouteTimeout.
// The gateway turns any answer but a 2xx into an error frame for the client.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a client message", http.StatusMethodNotAllowed)
		return
	}
	// The body is the client's message, {"action":"plus"}; the gateway already selected
	// the route from it. Drain it, so that the connection can carry the next message.
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxMessageBytes))
	route, conn := r.Header.Get("RouteKey"), r.Header.Get("ConnectionId")
	log := a.logger().With("route", route, "connection_id", conn)
	if route == "" {
		http.Error(w, "no RouteKey header: map integration.request.header.RouteKey to context.routeKey", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), RouteTimeout)
	defer cancel()
	frame, err := a.Route(ctx, route)
	var unknown *RouteError
	switch {
	case errors.As(err, &unknown):
		log.DebugContext(r.Context(), "route refused", "error", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		log.ErrorContext(r.Context(), "route failed", "error", err)
		http.Error(w, "the counter failed: see the backend's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(frame)
}
