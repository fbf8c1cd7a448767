package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
)

// wsURL is the WebSocket API's URL the page connects to, as the Terraform passes it in
// COUNTER_WEBSOCKET_URL.
const wsURL = "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod"

// messageEvent is the event API Gateway's Lambda proxy integration hands the function
// for a client's message {"action":route} on the route of that key; see messageEventOf.
func messageEvent(route, connectionID string) []byte {
	return messageEventOf(route, `{"action":"`+route+`"}`, connectionID)
}

// messageEventOf is the event of a client's message body on the route routeKey, built field by field
// from the request context variables of a MESSAGE event ("WebSocket API mapping
// template reference", API Gateway Developer Guide,
// docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html):
// messageId is set only for MESSAGE events; only $connect carries the client's headers
// and query string; without an authorizer there is no authorizer context, so no user.
func messageEventOf(routeKey, body, connectionID string) []byte {
	payload, err := json.Marshal(events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey:          routeKey,
			MessageID:         "Cn4xGd0VoAMCJmA=",
			EventType:         "MESSAGE",
			ExtendedRequestID: "Cn4xGFhQoAMFtqg=",
			RequestTime:       "07/Dec/2026:10:00:00 +0000",
			MessageDirection:  "IN",
			Stage:             "prod",
			ConnectedAt:       1796637590000,
			RequestTimeEpoch:  1796637600123,
			Identity:          events.APIGatewayRequestIdentity{SourceIP: "192.0.2.10"},
			RequestID:         "Cn4xGFhQoAMFtqg=",
			DomainName:        "abc123.execute-api.eu-west-1.amazonaws.com",
			ConnectionID:      connectionID,
			APIID:             "abc123",
		},
		Body:            body,
		IsBase64Encoded: false,
	})
	if err != nil {
		panic(err)
	}
	return payload
}

// urlEvent is the event a function URL hands the function for an HTTP request, in the
// payload format 2.0 of API Gateway's HTTP APIs, built field by field from "Invoking
// Lambda function URLs", Lambda Developer Guide
// (docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads): headers in
// lower case, routeKey and stage "$default" (function URLs have neither), the caller's
// account "anonymous" with the auth type NONE.
func urlEvent(method, path string) []byte {
	payload, err := json.Marshal(map[string]any{
		"version":        "2.0",
		"routeKey":       "$default",
		"rawPath":        path,
		"rawQueryString": "",
		"headers": map[string]string{
			"accept":            "text/html,application/xhtml+xml",
			"host":              "a1b2c3d4e5f6g7h8i9j0.lambda-url.eu-west-1.on.aws",
			"user-agent":        "Mozilla/5.0",
			"x-amzn-trace-id":   "Root=1-6754a2c0-0123456789abcdef01234567",
			"x-forwarded-for":   "192.0.2.10",
			"x-forwarded-port":  "443",
			"x-forwarded-proto": "https",
		},
		"requestContext": map[string]any{
			"accountId":    "anonymous",
			"apiId":        "a1b2c3d4e5f6g7h8i9j0",
			"domainName":   "a1b2c3d4e5f6g7h8i9j0.lambda-url.eu-west-1.on.aws",
			"domainPrefix": "a1b2c3d4e5f6g7h8i9j0",
			"http": map[string]string{
				"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": "Mozilla/5.0",
			},
			"requestId": "5e1b1c0a-6f2d-4d3e-9c1a-0b7e2f3a4c5d",
			"routeKey":  "$default",
			"stage":     "$default",
			"time":      "07/Dec/2026:10:00:00 +0000",
			"timeEpoch": 1796637600123,
		},
		"isBase64Encoded": false,
	})
	if err != nil {
		panic(err)
	}
	return payload
}

// stack is the counter's AWS side on the emulators: its table on dynalite, the pusher's
// notifications queue on goaws.
type stack struct {
	ddb    *DynamoDBCounter
	sqs    *sqs.Client
	awsCfg aws.Config // of goaws
	queue  string
	logs   *bytes.Buffer
}

func newStack(t *testing.T) stack {
	t.Helper()
	dynamo := awstest.DynamoDBClient(awstest.Dynalite(t))
	createCounterTable(t, dynamo, DefaultTable)
	endpoint := awstest.GoAWS(t)
	client := awstest.SQSClient(endpoint)
	cfg := awstest.Config()
	cfg.BaseEndpoint = aws.String(endpoint)
	return stack{
		ddb:    newDynamoDBCounter(t, dynamo, DefaultTable),
		sqs:    client,
		awsCfg: cfg,
		queue:  awstest.CreateQueue(t, client, "notifications", nil),
		logs:   &bytes.Buffer{},
	}
}

// function returns the counter's function on counter, broadcasting to the queue at
// queue.
func (s stack) function(t *testing.T, counter app.Counter, queue string) *Function {
	t.Helper()
	a := &app.App{Counter: counter, Notifier: sendNotifier(s.awsCfg, send.Target{QueueURL: queue}), Logger: slog.New(slog.NewJSONHandler(s.logs, nil))}
	fn, err := NewFunction(a, wsURL)
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

// route invokes fn with payload and returns its answer to a WebSocket route.
func route(t *testing.T, fn *Function, payload []byte) events.APIGatewayProxyResponse {
	t.Helper()
	out, err := fn.HandleRequest(context.Background(), payload)
	if err != nil {
		t.Fatalf("HandleRequest: %v", err)
	}
	resp, ok := out.(events.APIGatewayProxyResponse)
	if !ok {
		t.Fatalf("answered a %T, want an events.APIGatewayProxyResponse", out)
	}
	return resp
}

// errorFrame is what a page reads of an error frame.
type errorFrame struct {
	Type, Action, Code, Message string
}

func readErrorFrame(t *testing.T, body string) errorFrame {
	t.Helper()
	var f errorFrame
	if err := json.Unmarshal([]byte(body), &f); err != nil || f.Type != "error" {
		t.Fatalf("answered %q, want an error frame", body)
	}
	return f
}

// TestFunctionRoutes plays the seed's page on the routes: tabs open (state), click plus
// and minus; each click is answered with the new state and broadcast once through the
// queue; opening a tab broadcasts nothing.
func TestFunctionRoutes(t *testing.T) {
	s := newStack(t)
	fn := s.function(t, s.ddb, s.queue)
	steps := []struct {
		name, route, connection string
		frame                   string // the answer to the client
		broadcast               bool   // whether it is also broadcast
	}{
		{"a first tab opens", app.RouteState, "tabA0connId=", `{"type":"state","value":0,"seq":0,"epoch":0}`, false},
		{"plus", app.RoutePlus, "tabA0connId=", `{"type":"state","value":1,"seq":1,"epoch":0}`, true},
		{"plus from a second tab", app.RoutePlus, "tabB0connId=", `{"type":"state","value":2,"seq":2,"epoch":0}`, true},
		{"minus", app.RouteMinus, "tabA0connId=", `{"type":"state","value":1,"seq":3,"epoch":0}`, true},
		{"a late tab gets the current value", app.RouteState, "tabC0connId=", `{"type":"state","value":1,"seq":3,"epoch":0}`, false},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			resp := route(t, fn, messageEvent(step.route, step.connection))
			if resp.StatusCode != http.StatusOK || resp.Body != step.frame {
				t.Errorf("answered %d %s, want 200 %s", resp.StatusCode, resp.Body, step.frame)
			}
			var want []string
			if step.broadcast {
				want = append(want, step.frame)
			}
			wantBroadcasts(t, received(t, s.sqs, s.queue), want...)
		})
	}

	// On AWS a message of no route's action, or no JSON at all, goes to the API's
	// $default route ("Create routes for WebSocket APIs in API Gateway",
	// docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html:
	// without a $default route, API Gateway answers the client with an error of its
	// own); its routeKey is "$default", whatever the action.
	for _, body := range []string{`{"action":"reset"}`, `{"value":100}`, `hello`} {
		t.Run("$default: "+body, func(t *testing.T) {
			resp := route(t, fn, messageEventOf("$default", body, "tabA0connId="))
			f := readErrorFrame(t, resp.Body)
			named := strings.Contains(f.Message, app.RoutePlus) && strings.Contains(f.Message, app.RouteMinus) && strings.Contains(f.Message, app.RouteState)
			if resp.StatusCode != http.StatusBadRequest || f.Action != "$default" || f.Code != "bad_request" || !named {
				t.Errorf("answered %d %+v, want 400 and an error frame naming the routes", resp.StatusCode, f)
			}
			wantBroadcasts(t, received(t, s.sqs, s.queue))
			if got, err := s.ddb.Get(context.Background()); err != nil || got != (app.State{Value: 1, Seq: 3}) {
				t.Errorf("the counter is %+v, %v after the unknown route, want it unmoved", got, err)
			}
		})
	}
	if strings.Contains(s.logs.String(), `"action"`) || strings.Contains(s.logs.String(), "hello") {
		t.Errorf("the logs print a client's message:\n%s", s.logs)
	}
}

// TestFunctionFailures: a counter or a queue that fails answers the clicker an error
// frame, and logs why at ERROR.
func TestFunctionFailures(t *testing.T) {
	s := newStack(t)
	dynamo := awstest.DynamoDBClient(awstest.Dynalite(t)) // no table
	noTable := newDynamoDBCounter(t, dynamo, "websocketcounter-missing")
	noQueue := strings.Replace(s.queue, "notifications", "missing", 1)
	cases := []struct {
		name    string
		fn      *Function
		log     string    // what the ERROR line says
		counter app.State // the counter's state after
	}{
		{"the table is missing", s.function(t, noTable, s.queue), "websocketcounter-missing", app.State{}},
		// The counter moved; the next broadcast carries its value.
		{"the queue is missing", s.function(t, s.ddb, noQueue), "missing", app.State{Value: 1, Seq: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.logs.Reset()
			resp := route(t, c.fn, messageEvent(app.RoutePlus, "tabA0connId="))
			f := readErrorFrame(t, resp.Body)
			if resp.StatusCode != http.StatusInternalServerError || f.Action != app.RoutePlus || f.Code != "internal" {
				t.Errorf("answered %d %+v, want 500 and an internal error frame", resp.StatusCode, f)
			}
			wantBroadcasts(t, received(t, s.sqs, s.queue))
			if got, err := s.ddb.Get(context.Background()); err != nil || got != c.counter {
				t.Errorf("the counter is %+v, %v; want %+v", got, err, c.counter)
			}
			var line struct{ Level, Msg, Error string }
			if err := json.Unmarshal(s.logs.Bytes(), &line); err != nil || line.Level != "ERROR" || !strings.Contains(line.Error, c.log) {
				t.Errorf("logged %s, want one ERROR line whose error names %s", s.logs, c.log)
			}
		})
	}
}

// TestFunctionURL: the function URL serves the page, with the API's URL in it.
func TestFunctionURL(t *testing.T) {
	s := newStack(t)
	fn := s.function(t, s.ddb, s.queue)
	page := httptest.NewRecorder()
	app.Page(wsURL).ServeHTTP(page, httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(page.Body.String(), "abc123.execute-api.eu-west-1.amazonaws.com") {
		t.Fatalf("the page does not name the API:\n%s", page.Body)
	}
	cases := []struct {
		method, path string
		status       int
		body         string
		header       map[string]string
	}{
		{http.MethodGet, "/", http.StatusOK, page.Body.String(), map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{http.MethodHead, "/", http.StatusOK, "", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, "GET the page\n", map[string]string{"Allow": "GET, HEAD"}},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			out, err := fn.HandleRequest(context.Background(), urlEvent(c.method, c.path))
			if err != nil {
				t.Fatal(err)
			}
			resp, ok := out.(events.LambdaFunctionURLResponse)
			if !ok {
				t.Fatalf("answered a %T, want an events.LambdaFunctionURLResponse", out)
			}
			if resp.StatusCode != c.status || resp.Body != c.body || resp.IsBase64Encoded {
				t.Errorf("answered %d (base64 %v) %.80q, want %d %.80q", resp.StatusCode, resp.IsBase64Encoded, resp.Body, c.status, c.body)
			}
			for k, v := range c.header {
				if resp.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
				}
			}
		})
	}
	wantBroadcasts(t, received(t, s.sqs, s.queue))
}

// TestHandleRequestOtherEvents: what is neither a route nor a request to the URL fails
// the invocation, naming what it expected.
func TestHandleRequestOtherEvents(t *testing.T) {
	fn, err := NewFunction(&app.App{Counter: app.NewMemoryCounter(), Notifier: nopNotifier{}}, wsURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, payload string }{
		{"not JSON", `plus`},
		{"an SQS event", `{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{}"}]}`},
		{"an HTTP API request without its context", `{"version":"2.0","rawPath":"/"}`},
		{"empty", `{}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if out, err := fn.HandleRequest(context.Background(), json.RawMessage(c.payload)); err == nil {
				t.Errorf("answered %#v, want an error", out)
			}
		})
	}
}

func TestNewFunction(t *testing.T) {
	good := &app.App{Counter: app.NewMemoryCounter(), Notifier: nopNotifier{}}
	for _, c := range []struct {
		name  string
		app   *app.App
		wsURL string
		ok    bool
	}{
		{"wss", good, wsURL, true},
		{"ws, locally", good, "ws://127.0.0.1:8080/", true},
		{"no app", nil, wsURL, false},
		{"no notifier", &app.App{Counter: app.NewMemoryCounter()}, wsURL, false},
		{"an https URL", good, "https://abc123.execute-api.eu-west-1.amazonaws.com/prod", false},
		{"no URL", good, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewFunction(c.app, c.wsURL); (err == nil) != c.ok {
				t.Errorf("NewFunction: %v, want ok %v", err, c.ok)
			}
		})
	}
}

// nopNotifier broadcasts nothing.
type nopNotifier struct{}

func (nopNotifier) Broadcast(context.Context, json.RawMessage) error { return nil }
