// Package app is seed 004's counter: its page, its routes and its counter, run locally by
// cmd/counter beside `pusher dev` and on AWS by cmd/counter-lambda.
//
// A page sends {"action":"plus"}, {"action":"minus"} or {"action":"state"} over its WebSocket; the
// gateway routes the action here; Route moves the counter, answers the clicker and sends one
// broadcast request to the pusher, which delivers the new state to every open page.
package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// State is the counter's value and its sequence number: Seq grows by one with every change, so
// that a page keeps the frame of the highest Seq whatever order frames arrive in (the pusher
// delivers concurrent broadcasts concurrently).
//
// Seq only orders the changes of one counter. A counter that starts again from zero (the
// memory counter of a restarted cmd/counter) says so with another Epoch: a page that
// gets a frame of another epoch than the one it shows takes it as it is, then orders that
// epoch's frames by Seq. Without it, open tabs would ignore every change until the new
// counter's Seq passed the one they showed.
type State struct {
	// Value is the counter's value.
	Value int64 `json:"value"`
	// Seq is the number of changes so far.
	Seq int64 `json:"seq"`
	// Epoch names the counter whose changes Seq counts: the memory counter's start
	// time in Unix milliseconds; 0 for the DynamoDB counter, whose item persists.
	Epoch int64 `json:"epoch"`
}

// Frame returns what a page gets: {"type":"state","value":V,"seq":S,"epoch":E} (the
// seed's type and value, and our ordering).
func (s State) Frame() []byte {
	return fmt.Appendf(nil, `{"type":"state","value":%d,"seq":%d,"epoch":%d}`, s.Value, s.Seq, s.Epoch)
}

// Counter keeps the shared counter; Add is atomic: no increment lost under concurrent calls.
type Counter interface {
	// Add moves the value by delta, bumps Seq by one and returns the new state.
	Add(ctx context.Context, delta int64) (State, error)
	// Get returns the current state without changing it.
	Get(ctx context.Context) (State, error)
}

// Notifier sends one notification request to the pusher: a broadcast {"data": frame}
// (BroadcastRequest). NotifierFunc makes one of a function.
type Notifier interface {
	// Broadcast sends frame, which must be JSON, to every connection.
	Broadcast(ctx context.Context, frame json.RawMessage) error
}

// The routes, selected by the client message's action ($request.body.action).
const (
	// RoutePlus adds 1, then broadcasts the new state and answers the clicker with it.
	RoutePlus = "plus"
	// RouteMinus subtracts 1, likewise.
	RouteMinus = "minus"
	// RouteState answers the current state and broadcasts nothing: a page sends it when
	// it opens, so that a late tab gets the current value.
	RouteState = "state"
)

// RouteError is a client error: the message asked for a route that does not exist.
type RouteError struct {
	// Route is the route key the client sent.
	Route string
}

// Error says which route was asked for and which exist.
func (e *RouteError) Error() string {
	return fmt.Sprintf("unknown route %q: the routes are %q, %q and %q", e.Route, RoutePlus, RouteMinus, RouteState)
}

// App answers the routes.
type App struct {
	// Counter keeps the value: in memory locally, in DynamoDB on AWS.
	Counter Counter
	// Notifier sends the broadcasts, through send.Send: to pusher dev's intake
	// locally, to the source the pusher reads (its queue) on AWS.
	Notifier Notifier
	// Logger logs the routes' failures; nil discards.
	Logger *slog.Logger
}

// Route runs route and returns the frame for the client that sent it. An unknown route is a
// client error (*RouteError, which says which routes exist). A counter failure is returned
// wrapped; a broadcast failure after the counter moved is returned too (the click's caller sees
// an error; the value moved and the next broadcast carries it).
func (a *App) Route(ctx context.Context, route string) ([]byte, error) {
	var delta int64
	switch route {
	case RoutePlus:
		delta = 1
	case RouteMinus:
		delta = -1
	case RouteState:
		s, err := a.Counter.Get(ctx)
		if err != nil {
			return nil, fmt.Errorf("get counter: %w", err)
		}
		return s.Frame(), nil
	default:
		return nil, &RouteError{Route: route}
	}
	s, err := a.Counter.Add(ctx, delta)
	if err != nil {
		return nil, fmt.Errorf("%s: add %d to counter: %w", route, delta, err)
	}
	frame := s.Frame()
	if err := a.Notifier.Broadcast(ctx, frame); err != nil {
		return nil, fmt.Errorf("%s: broadcast seq %d: %w", route, s.Seq, err)
	}
	a.logger().DebugContext(ctx, "counter moved", "route", route, "value", s.Value, "seq", s.Seq)
	return frame, nil
}

// logger returns the App's logger, or a discarding one when none was set.
func (a *App) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}
