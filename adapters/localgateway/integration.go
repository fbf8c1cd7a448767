package localgateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The parts of the events that API Gateway sends to a Lambda proxy integration of a
// WebSocket API that this gateway has no other source for.
const (
	// integrationStage is requestContext.stage: the gateway serves one stage.
	integrationStage = "local"
	// requestTimeFormat is requestContext.requestTime's, such as
	// "20/Jan/2024:11:55:00 +0000" (CLF).
	requestTimeFormat = "02/Jan/2006:15:04:05 -0700"
	// maxInvocation bounds an invocation the gateway no longer waits for (see invoke):
	// Lambda's longest function timeout, 15 minutes.
	maxInvocation = 15 * time.Minute
)

// internalServerError and timedOut are the messages of API Gateway's answers to a
// route whose integration failed or did not answer within the integration timeout.
const (
	internalServerError = "Internal server error"
	timedOut            = "Endpoint request timed out"
)

// integration invokes a Lambda function for each route, as API Gateway's AWS_PROXY
// integration of a WebSocket API does: $connect, a client message's route and
// $disconnect each go to the function as an events.APIGatewayWebsocketProxyRequest,
// built field by field as AWS documents them ("WebSocket API mapping template
// reference for API Gateway",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html;
// "Manage connected users and client apps: $connect and $disconnect routes",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html),
// and its events.APIGatewayProxyResponse is read as API Gateway reads it. It speaks the
// Invoke API without a signature: the Lambda Runtime Interface Emulator's, not AWS's.
//
// Two differences from AWS, both for the emulator. Invocations are made one at a time:
// the emulator runs one at a time, and one that arrives while another runs crashes it
// (aws-lambda-rie's rapidcore.Server.Invoke dereferences the nil reservation that
// Reserve refuses with ErrAlreadyReserved, and the process exits with both invocations
// unanswered), where AWS runs concurrent invocations side by side. And a function
// error is read from the emulator's answer as well as from AWS's X-Amz-Function-Error
// header: the emulator answers a handler's error 200 with an {"errorMessage",
// "errorType"} body and no header, and a panic 502.
type integration struct {
	url     string
	routes  []string
	timeout time.Duration
	apiID   string
	client  *http.Client
	logger  *slog.Logger
	// turn is held for the whole of each invocation, one at a time.
	turn chan struct{}
}

func newIntegration(cfg Config) *integration {
	if cfg.Integration == "" {
		return nil
	}
	return &integration{
		url:     cfg.Integration,
		routes:  cfg.Routes,
		timeout: cfg.BackendTimeout,
		apiID:   newAPIID(),
		client:  &http.Client{},
		logger:  cfg.Logger,
		turn:    make(chan struct{}, 1),
	}
}

// refusal is a $connect that the integration refused: with the status code of the
// function's response, or as API Gateway refuses one whose integration failed (err).
type refusal struct {
	status int
	body   string
	err    error
}

func (r *refusal) Error() string {
	if r.err != nil {
		return fmt.Sprintf("$connect integration failed (%d): %v", r.status, r.err)
	}
	return fmt.Sprintf("$connect integration answered %d: %s", r.status, r.body)
}

func (r *refusal) Unwrap() error { return r.err }

// write answers the refused handshake.
func (r *refusal) write(w http.ResponseWriter) {
	if r.err != nil {
		writeJSON(w, r.status, struct {
			Message string `json:"message"`
		}{r.body})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(r.status)
	_, _ = io.WriteString(w, r.body)
}

// connect is the $connect route: the connection opens if the function answers a 2xx
// status, and the handshake is refused with the function's status otherwise. The
// gateway stores nothing: the function does. API Gateway answers a function that
// failed 502, and an invocation that Lambda refused 500 ("Handling Lambda errors with
// an API Gateway API",
// https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html).
func (in *integration) connect(r *http.Request, c *conn) error {
	resp, err := in.invoke(in.connectEvent(r, c, time.Now()))
	var failed *invokeError
	switch {
	case errors.As(err, &failed):
		return &refusal{status: failed.status, body: failed.message, err: err}
	case err != nil:
		return err
	case resp.StatusCode < 100 || resp.StatusCode > 599:
		return &refusal{status: http.StatusBadGateway, body: internalServerError,
			err: fmt.Errorf("the function's $connect response has the status code %d", resp.StatusCode)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		body := resp.Body
		if body == "" {
			body = http.StatusText(resp.StatusCode)
		}
		return &refusal{status: resp.StatusCode, body: body}
	}
	return nil
}

// message is a client message's route, selected as a route selection expression of
// $request.body.action selects it: the message's action when it is one of Routes,
// else $default. The body of the function's response, if any, goes back to the client,
// as a two-way route sends it; a failed invocation is answered as API Gateway answers
// it, with {"message": "Internal server error", "connectionId": ..., "requestId": ...}.
// "For proxy integrations, API Gateway automatically passes the backend output to the
// route response as a complete payload" ("Set up a WebSocket API integration response
// in API Gateway",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integration-responses.html).
func (in *integration) message(c *conn, body []byte) []byte {
	route := handlers.ParseClientMessage(body).Action
	if !slices.Contains(in.routes, route) {
		route = routeDefault
	}
	ev := in.messageEvent(c, route, body, time.Now())
	resp, err := in.invoke(ev)
	if err != nil {
		in.logger.Error("invoke the integration", "route", route, "connection_id", c.id, "error", err)
		message := internalServerError
		var failed *invokeError
		if errors.As(err, &failed) {
			message = failed.message
		}
		return gatewayError(message, c.id, ev.RequestContext.RequestID)
	}
	if resp.Body == "" {
		return nil
	}
	if resp.IsBase64Encoded {
		if reply, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			return reply
		}
	}
	return []byte(resp.Body)
}

// disconnect is the $disconnect route, once the connection is closed for cause (the
// read loop's error). Its answer goes nowhere: the client is gone.
func (in *integration) disconnect(c *conn, cause error, log *slog.Logger) {
	resp, err := in.invoke(in.disconnectEvent(c, cause, time.Now()))
	switch {
	case err != nil:
		log.Error("invoke the $disconnect integration", "error", err)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		log.Debug("$disconnect integration answered", "status", resp.StatusCode, "body", resp.Body)
	}
}

// gatewayError is the frame API Gateway sends a client whose message it could not
// route to its integration.
func gatewayError(message, connectionID, requestID string) []byte {
	b, _ := json.Marshal(struct {
		Message      string `json:"message"`
		ConnectionID string `json:"connectionId"`
		RequestID    string `json:"requestId"`
	}{message, connectionID, requestID})
	return b
}

// connectEvent is the CONNECT event of the $connect request r of c: the only event with
// the client's query string, and headers ("WebSocket API mapping template reference";
// the request of a $connect Lambda authorizer in "Control access to WebSocket APIs
// using AWS Lambda REQUEST authorizers",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html,
// shows them). Host, which net/http takes out of the headers, goes back in, and
// X-Forwarded-For names the client, as API Gateway's front end adds it.
func (in *integration) connectEvent(r *http.Request, c *conn, now time.Time) events.APIGatewayWebsocketProxyRequest {
	ev := events.APIGatewayWebsocketProxyRequest{
		Headers:           map[string]string{},
		MultiValueHeaders: map[string][]string{},
		RequestContext:    in.requestContext(c, "$connect", "CONNECT", now),
	}
	set := func(name string, values []string) {
		if len(values) > 0 {
			ev.Headers[name], ev.MultiValueHeaders[name] = values[len(values)-1], values
		}
	}
	for name, values := range r.Header {
		set(name, values)
	}
	set("Host", []string{r.Host})
	set("X-Forwarded-For", []string{c.sourceIP})
	if query := r.URL.Query(); len(query) > 0 {
		// A repeated parameter's last value, as in the REST API's proxy event.
		ev.QueryStringParameters = map[string]string{}
		ev.MultiValueQueryStringParameters = map[string][]string(query)
		for name, values := range query {
			ev.QueryStringParameters[name] = values[len(values)-1]
		}
	}
	return ev
}

// messageEvent is the MESSAGE event of a client message: the request context (with a
// messageId, which only MESSAGE has) and the body, with no headers and no query
// string, as aws-lambda-go's events/testdata/apigw-websocket-request-send-message.json
// records one. API Gateway takes text frames only ("Binary media types for WebSocket
// APIs in API Gateway",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-binary-media-types.html),
// so the body is never base64-encoded.
func (in *integration) messageEvent(c *conn, route string, body []byte, now time.Time) events.APIGatewayWebsocketProxyRequest {
	ev := events.APIGatewayWebsocketProxyRequest{
		RequestContext:  in.requestContext(c, route, "MESSAGE", now),
		Body:            string(body),
		IsBase64Encoded: false,
	}
	ev.RequestContext.MessageID = newConnectionID()
	return ev
}

// disconnectEvent is the DISCONNECT event of c closed for cause: a few headers, no
// query string, and the close frame's status code and reason in the request context,
// as aws-lambda-go's events/testdata/apigw-websocket-request-disconnect.json records
// one. A connection that ended without a close frame is 1006 (abnormal closure), as
// RFC 6455 names it.
func (in *integration) disconnectEvent(c *conn, cause error, now time.Time) events.APIGatewayWebsocketProxyRequest {
	headers := map[string]string{"Host": c.host, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
	ev := events.APIGatewayWebsocketProxyRequest{
		Headers:           headers,
		MultiValueHeaders: map[string][]string{},
		RequestContext:    in.requestContext(c, "$disconnect", "DISCONNECT", now),
	}
	for name, value := range headers {
		ev.MultiValueHeaders[name] = []string{value}
	}
	code, reason := websocket.StatusAbnormalClosure, ""
	var closed websocket.CloseError
	if errors.As(cause, &closed) {
		code, reason = closed.Code, closed.Reason
	}
	ev.RequestContext.DisconnectStatusCode = int64(code)
	ev.RequestContext.DisconnectReason = &reason
	return ev
}

// requestContext is what every event's requestContext holds. There is no authorizer:
// the gateway runs none. requestId is the same as extendedRequestId, as the mapping
// template reference says.
func (in *integration) requestContext(c *conn, route, eventType string, now time.Time) events.APIGatewayWebsocketProxyRequestContext {
	id := newConnectionID() // the same shape as API Gateway's request ids
	return events.APIGatewayWebsocketProxyRequestContext{
		RouteKey:          route,
		EventType:         eventType,
		ExtendedRequestID: id,
		RequestTime:       now.UTC().Format(requestTimeFormat),
		MessageDirection:  "IN",
		Stage:             integrationStage,
		ConnectedAt:       c.connectedAt.UnixMilli(),
		RequestTimeEpoch:  now.UnixMilli(),
		Identity:          events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
		RequestID:         id,
		DomainName:        c.host,
		ConnectionID:      c.id,
		APIID:             in.apiID,
	}
}

// invokeError is an invocation that failed: answered by API Gateway with status (on
// $connect) and message.
type invokeError struct {
	status  int
	message string
	err     error
}

func (e *invokeError) Error() string { return e.err.Error() }
func (e *invokeError) Unwrap() error { return e.err }

// invoke invokes the function with ev and returns its response. It waits for the
// invocation before it to end, then gives the function the integration timeout: the
// wait is the gateway's, not the function's. It holds its turn until the function has
// answered, even past the timeout: a caller that stops waiting does not stop the
// function, and the next invocation must not reach the emulator while it runs. The
// client going away cancels nothing, as on AWS.
func (in *integration) invoke(ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	route := ev.RequestContext.RouteKey
	payload, err := json.Marshal(ev)
	if err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("encode the %s event: %w", route, err)
	}
	in.turn <- struct{}{}
	timer := time.NewTimer(in.timeout)
	defer timer.Stop()
	type result struct {
		resp events.APIGatewayProxyResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-in.turn }()
		resp, err := in.post(payload)
		done <- result{resp, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return res.resp, fmt.Errorf("invoke %s for %s: %w", in.url, route, res.err)
		}
		return res.resp, nil
	case <-timer.C:
		return events.APIGatewayProxyResponse{}, &invokeError{status: http.StatusGatewayTimeout, message: timedOut,
			err: fmt.Errorf("invoke %s for %s: no answer after %s", in.url, route, in.timeout)}
	}
}

// post makes one invocation and reads the function's response.
func (in *integration) post(payload []byte) (events.APIGatewayProxyResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), maxInvocation)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, bytes.NewReader(payload))
	if err != nil {
		return events.APIGatewayProxyResponse{}, &invokeError{status: http.StatusInternalServerError, message: internalServerError, err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := in.client.Do(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, &invokeError{status: http.StatusInternalServerError, message: internalServerError, err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return events.APIGatewayProxyResponse{}, &invokeError{status: http.StatusInternalServerError, message: internalServerError,
			err: fmt.Errorf("read the answer: %w", err)}
	}
	return readResponse(resp, body)
}

// readResponse reads the answer of the Invoke API: the function's response, or the
// failure that API Gateway answers 500 (Lambda refused the invocation) or 502 (the
// function failed, or answered what is not a response).
func readResponse(resp *http.Response, body []byte) (events.APIGatewayProxyResponse, error) {
	fail := func(status int, format string, args ...any) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{}, &invokeError{status: status, message: internalServerError, err: fmt.Errorf(format, args...)}
	}
	var out struct {
		events.APIGatewayProxyResponse
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	decodeErr := json.Unmarshal(body, &out)
	switch {
	case resp.StatusCode == http.StatusBadGateway: // the emulator's answer to a runtime that failed
		return fail(http.StatusBadGateway, "the function failed: %s", snippet(body))
	case resp.StatusCode != http.StatusOK:
		return fail(http.StatusInternalServerError, "the Invoke API answered %s: %s", resp.Status, snippet(body))
	case resp.Header.Get("X-Amz-Function-Error") != "":
		return fail(http.StatusBadGateway, "function error %s: %s", resp.Header.Get("X-Amz-Function-Error"), snippet(body))
	case decodeErr != nil:
		return fail(http.StatusBadGateway, "the function's response is not a proxy response: %s", snippet(body))
	case out.StatusCode == 0 && (out.ErrorType != "" || out.ErrorMessage != ""):
		return fail(http.StatusBadGateway, "function error %s: %s", out.ErrorType, out.ErrorMessage)
	}
	return out.APIGatewayProxyResponse, nil
}

// snippet returns the start of a body, for an error message.
func snippet(body []byte) string {
	const max = 300
	if len(body) > max {
		return string(body[:max]) + "..."
	}
	return string(body)
}

// newAPIID returns an id shaped like an API Gateway API's, such as "gy415nuibc": ten
// lowercase letters and digits.
func newAPIID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [10]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
