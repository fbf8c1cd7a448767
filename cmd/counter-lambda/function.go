package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Function is the counter as one Lambda function, which serves two
// kinds of event, told apart by their shape:
//   - the WebSocket API's plus, minus and state routes (API Gateway's Lambda proxy
//     integration, events.APIGatewayWebsocketProxyRequest), answered by App, and its
//     $default route, where API Gateway sends any other message, which App refuses;
//   - the GET of its function URL (events.LambdaFunctionURLRequest), answered by Page,
//     the counter's page with the API's wss URL in it.
//
// App's fields are the shared contract of the counter's two runs; the page's URL is the
// Lambda's alone, hence a type of its own rather than a field of App.
type Function struct {
	// App answers the routes, and its Logger logs each invocation.
	App *app.App
	// Page answers the function URL's requests: app.Page of the API's wss URL.
	Page http.Handler
}

// NewFunction returns the function of app and of the page that connects to wsURL, the
// WebSocket API's wss://{api-id}.execute-api.{region}.amazonaws.com/{stage}.
func NewFunction(a *app.App, wsURL string) (*Function, error) {
	switch {
	case a == nil || a.Counter == nil || a.Notifier == nil:
		return nil, errors.New("counter function: an App with a Counter and a Notifier is required")
	case !strings.HasPrefix(wsURL, "wss://") && !strings.HasPrefix(wsURL, "ws://"):
		return nil, fmt.Errorf("counter function: the page's WebSocket URL %q is not a ws:// or wss:// URL", wsURL)
	}
	return &Function{App: a, Page: app.Page(wsURL)}, nil
}

// eventShape is what HandleRequest reads of an invocation's payload to tell its kind.
// A function URL's request is API Gateway's HTTP API payload format 2.0: a version
// "2.0" and requestContext.http, and a routeKey "$default" beside them
// ("Invoking Lambda function URLs", docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads).
// A WebSocket route's request has requestContext.eventType (CONNECT, MESSAGE or
// DISCONNECT) and connectionId, and no http ("WebSocket API mapping template
// reference",
// docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html).
type eventShape struct {
	// Version is "2.0" for a function URL's request, absent for a WebSocket route's.
	Version string `json:"version"`
	// RequestContext holds what tells the two apart.
	RequestContext struct {
		// EventType is a WebSocket route's CONNECT, MESSAGE or DISCONNECT.
		EventType string `json:"eventType"`
		// ConnectionID is a WebSocket route's client.
		ConnectionID string `json:"connectionId"`
		// HTTP is a function URL request's.
		HTTP struct {
			// Method is the HTTP method, GET for the page.
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
}

// HandleRequest answers one invocation: a WebSocket route with an
// events.APIGatewayProxyResponse, a function URL's request with an
// events.LambdaFunctionURLResponse. Any other event is an error.
//
// A route's answer is its frame, with status 200, which a two-way route (one with a
// route response) sends back to the client: the new state to the clicker, the current
// one to a page that opens. An unknown route, $default among them (any other action,
// or a message that is not JSON), is answered 400 with an error frame naming the
// routes; a counter or a broadcast that failed, 500 with an error frame
// saying "internal error", the cause going to the log at level ERROR. The invocation
// itself succeeds: had it failed, API Gateway would send the client a frame of its own
// ("Internal server error") that the page cannot read.
func (f *Function) HandleRequest(ctx context.Context, payload json.RawMessage) (any, error) {
	var shape eventShape
	if err := json.Unmarshal(payload, &shape); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	rc := shape.RequestContext
	switch {
	case shape.Version == "2.0" && rc.HTTP.Method != "":
		var req events.LambdaFunctionURLRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, fmt.Errorf("decode function URL request: %w", err)
		}
		return f.ServeURL(ctx, req)
	case rc.EventType != "" && rc.ConnectionID != "":
		var req events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, fmt.Errorf("decode WebSocket route: %w", err)
		}
		return f.ServeRoute(ctx, req), nil
	}
	return nil, errors.New("decode event: neither an API Gateway WebSocket route nor a function URL request")
}

// ServeRoute answers the WebSocket route of req, selected by the client message's
// action ($request.body.action): its routeKey is the route, whatever else the body says.
// As AWS sends a MESSAGE event, it has no query string, and no user without an
// authorizer: the counter needs neither.
func (f *Function) ServeRoute(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) events.APIGatewayProxyResponse {
	start := time.Now()
	route := req.RequestContext.RouteKey
	frame, err := f.App.Route(ctx, route)
	status, level := http.StatusOK, slog.LevelInfo
	var unknown *app.RouteError
	switch {
	case errors.As(err, &unknown):
		status = http.StatusBadRequest
		frame = handlers.ErrorFrame(route, "", &handlers.ClientError{Code: handlers.CodeBadRequest, Reason: err.Error()})
	case err != nil:
		status, level = http.StatusInternalServerError, slog.LevelError
		frame = handlers.ErrorFrame(route, "", err)
	}
	attrs := []any{"event", "websocket", "route", route, "connection_id", req.RequestContext.ConnectionID,
		"status", status, "elapsed_ms", time.Since(start).Milliseconds()}
	if err != nil {
		attrs = append(attrs, "error", err)
	}
	f.logger().Log(ctx, level, "invocation", attrs...)
	return events.APIGatewayProxyResponse{StatusCode: status, Body: string(frame)}
}

// logger returns the App's logger, or a discarding one when none was set.
func (f *Function) logger() *slog.Logger {
	if f.App.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.App.Logger
}
